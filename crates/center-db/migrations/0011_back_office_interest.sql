
ALTER TABLE bo_invoice_lines ADD COLUMN contract_id {INT};
CREATE TABLE bo_invoice_contracts (
    contract_id {INT} NOT NULL REFERENCES bo_contracts(id),
    month TEXT NOT NULL,
    invoice_number {INT} NOT NULL REFERENCES bo_invoices(number),
    PRIMARY KEY (contract_id, month)
);
CREATE INDEX bo_invoice_contracts_number ON bo_invoice_contracts (invoice_number);
