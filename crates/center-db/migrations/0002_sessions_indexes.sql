
ALTER TABLE users ADD COLUMN totp_last_step {INT} NOT NULL DEFAULT 0;
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX setup_links_expires ON setup_links (expires_at);
