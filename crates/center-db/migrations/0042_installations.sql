
ALTER TABLE equipment ADD COLUMN installation {INT} NOT NULL DEFAULT 0;
ALTER TABLE enrolment_tokens ADD COLUMN installation {INT} NOT NULL DEFAULT 0;
ALTER TABLE enrolment_tokens ADD COLUMN revoked_at {INT};
ALTER TABLE agent_certs ADD COLUMN installation {INT} NOT NULL DEFAULT 0;
ALTER TABLE agent_status ADD COLUMN installation {INT} NOT NULL DEFAULT 0;
ALTER TABLE agent_reports ADD COLUMN installation {INT} NOT NULL DEFAULT 0;
CREATE INDEX agent_certs_revoked ON agent_certs (revoked_at);
CREATE INDEX enrolment_tokens_unit ON enrolment_tokens (equipment_id);
UPDATE enrolment_tokens SET installation = -1 WHERE NOT EXISTS (SELECT 1 FROM equipment e WHERE e.id = enrolment_tokens.equipment_id AND e.state = 'installed' AND e.customer_id = enrolment_tokens.customer_id AND e.site_id = enrolment_tokens.site_id);
UPDATE agent_certs SET installation = -1 WHERE NOT EXISTS (SELECT 1 FROM equipment e WHERE e.id = agent_certs.equipment_id AND e.state = 'installed' AND e.customer_id = agent_certs.customer_id AND e.site_id = agent_certs.site_id);
UPDATE agent_reports SET installation = -1 WHERE NOT EXISTS (SELECT 1 FROM equipment e WHERE e.id = agent_reports.equipment_id AND e.state = 'installed' AND e.customer_id = agent_reports.customer_id AND e.site_id = agent_reports.site_id);
UPDATE agent_status SET installation = -1 WHERE NOT EXISTS (SELECT 1 FROM equipment e WHERE e.id = agent_status.equipment_id AND e.state = 'installed' AND e.customer_id = agent_status.customer_id AND e.site_id = agent_status.site_id) OR EXISTS (SELECT 1 FROM agent_reports r WHERE r.equipment_id = agent_status.equipment_id AND r.installation = -1)
