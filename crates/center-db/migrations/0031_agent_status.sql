
CREATE TABLE agent_status (
    equipment_id {INT} PRIMARY KEY REFERENCES equipment(id),
    customer_id {INT} NOT NULL REFERENCES customers(id),
    site_id {INT} NOT NULL REFERENCES sites(id),
    last_contact {INT} NOT NULL,
    last_address TEXT NOT NULL,
    applied_generation {INT} NOT NULL DEFAULT 0,
    apply_state TEXT NOT NULL DEFAULT 'none',
    apply_generation {INT},
    apply_error TEXT,
    apply_at {INT},
    drift TEXT,
    drift_at {INT}
);
CREATE INDEX agent_status_customer ON agent_status (customer_id, site_id);
CREATE TABLE agent_reports (
    report_id TEXT PRIMARY KEY,
    equipment_id {INT} NOT NULL REFERENCES equipment(id),
    customer_id {INT} NOT NULL REFERENCES customers(id),
    site_id {INT} NOT NULL REFERENCES sites(id),
    kind TEXT NOT NULL,
    generation {INT} NOT NULL,
    detail TEXT NOT NULL,
    at {INT} NOT NULL,
    received_at {INT} NOT NULL
);
CREATE INDEX agent_reports_unit ON agent_reports (equipment_id, received_at);
CREATE TABLE center_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
