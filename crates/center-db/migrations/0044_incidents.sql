CREATE TABLE incidents (
    id {ID},
    customer_id {INT} NOT NULL REFERENCES customers(id),
    site_id {INT} NOT NULL REFERENCES sites(id),
    incident_key TEXT NOT NULL,
    severity TEXT NOT NULL,
    state TEXT NOT NULL,
    summary TEXT NOT NULL,
    opened_at {INT} NOT NULL,
    acknowledged_at {INT},
    acknowledged_by {INT} REFERENCES users(id),
    resolved_at {INT},
    in_maintenance {INT} NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX incidents_one_unresolved_per_key ON incidents (incident_key) WHERE state <> 'resolved';
CREATE INDEX incidents_customer ON incidents (customer_id, id);
CREATE INDEX incidents_site ON incidents (site_id, id);
CREATE TABLE incident_events (
    id {ID},
    incident_id {INT} NOT NULL REFERENCES incidents(id),
    at {INT} NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX incident_events_incident ON incident_events (incident_id, id)
