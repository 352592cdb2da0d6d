
CREATE TABLE equipment (
    id {ID},
    serial TEXT NOT NULL UNIQUE,
    model TEXT NOT NULL,
    state TEXT NOT NULL,
    customer_id {INT} REFERENCES customers(id),
    site_id {INT} REFERENCES sites(id),
    created_at {INT} NOT NULL,
    updated_at {INT} NOT NULL
);
CREATE INDEX equipment_customer ON equipment (customer_id, state);
CREATE INDEX equipment_state ON equipment (state);
CREATE TABLE equipment_events (
    id {ID},
    equipment_id {INT} NOT NULL REFERENCES equipment(id),
    at {INT} NOT NULL,
    actor TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    customer_id {INT} REFERENCES customers(id),
    site_id {INT} REFERENCES sites(id),
    note TEXT NOT NULL
);
CREATE INDEX equipment_events_unit ON equipment_events (equipment_id, id);
CREATE TABLE enrolment_tokens (
    id {ID},
    token_hash TEXT NOT NULL UNIQUE,
    customer_id {INT} NOT NULL REFERENCES customers(id),
    site_id {INT} NOT NULL REFERENCES sites(id),
    equipment_id {INT} NOT NULL REFERENCES equipment(id),
    created_by TEXT NOT NULL,
    expires_at {INT} NOT NULL,
    used_at {INT},
    created_at {INT} NOT NULL
);
CREATE TABLE agent_certs (
    serial TEXT PRIMARY KEY,
    customer_id {INT} NOT NULL REFERENCES customers(id),
    site_id {INT} NOT NULL REFERENCES sites(id),
    equipment_id {INT} NOT NULL REFERENCES equipment(id),
    not_after {INT} NOT NULL,
    revoked_at {INT},
    revoked_reason TEXT,
    created_at {INT} NOT NULL
);
CREATE INDEX agent_certs_unit ON agent_certs (equipment_id);
