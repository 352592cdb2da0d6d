CREATE TABLE notifications (
    id {ID},
    incident_id {INT} NOT NULL REFERENCES incidents(id),
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at {INT} NOT NULL,
    attempts {INT} NOT NULL DEFAULT 0,
    next_at {INT} NOT NULL,
    sent_at {INT},
    last_error TEXT
);
CREATE INDEX notifications_due ON notifications (sent_at, next_at)
