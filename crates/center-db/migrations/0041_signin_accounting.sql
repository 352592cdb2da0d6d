
ALTER TABLE api_tokens ADD COLUMN expires_at {INT};
ALTER TABLE api_tokens ADD COLUMN last_used_at {INT};
ALTER TABLE api_tokens ADD COLUMN revoked_at {INT};
ALTER TABLE api_tokens ADD COLUMN revoked_by {INT};
CREATE INDEX api_tokens_user ON api_tokens (user_id);
CREATE INDEX api_tokens_customer ON api_tokens (customer_id);
