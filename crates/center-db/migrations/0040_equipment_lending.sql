
INSERT INTO equipment (serial, model, state, customer_id, site_id, created_at, updated_at)
SELECT a.serial, a.model, CASE WHEN a.site_id IS NULL THEN 'lent' ELSE 'installed' END,
       a.customer_id, a.site_id, a.created_at, a.created_at
FROM appliances a
WHERE NOT EXISTS (SELECT 1 FROM equipment e WHERE e.serial = a.serial)
ORDER BY a.id;
INSERT INTO equipment_events (equipment_id, at, actor, from_state, to_state, customer_id, site_id, note)
SELECT e.id, a.created_at, 'migration 40', NULL, e.state, a.customer_id, a.site_id,
       'migrated from appliance record ' || CAST(a.id AS TEXT) || ' (customer ' || CAST(a.customer_id AS TEXT)
       || CASE WHEN a.site_id IS NULL THEN '' ELSE ', site ' || CAST(a.site_id AS TEXT) END
       || ')'
FROM appliances a JOIN equipment e ON e.serial = a.serial
ORDER BY a.id;
CREATE TABLE bo_contract_units (
    contract_id {INT} NOT NULL REFERENCES bo_contracts(id),
    equipment_id {INT} NOT NULL REFERENCES equipment(id),
    released_at {INT},
    PRIMARY KEY (contract_id, equipment_id)
);
INSERT INTO bo_contract_units (contract_id, equipment_id)
SELECT DISTINCT ce.contract_id, e.id
FROM bo_contract_equipment ce
JOIN appliances a ON a.id = ce.appliance_id
JOIN equipment e ON e.serial = a.serial;
DROP TABLE bo_contract_equipment;
ALTER TABLE bo_contract_units RENAME TO bo_contract_equipment;
CREATE INDEX bo_contract_equipment_unit ON bo_contract_equipment (equipment_id, contract_id);
DROP TABLE appliances;
