
CREATE TABLE task_runs (
    id {ID},
    task TEXT NOT NULL,
    trigger_kind TEXT NOT NULL,
    requested_by {INT} REFERENCES users(id),
    started_at {INT} NOT NULL,
    finished_at {INT},
    outcome TEXT,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX task_runs_task ON task_runs (task, started_at);
CREATE TABLE task_leases (
    task TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until_ms {INT} NOT NULL
)
