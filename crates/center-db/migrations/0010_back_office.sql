
CREATE TABLE bo_applications (
    id {ID},
    customer_id {INT} NOT NULL REFERENCES customers(id),
    line_product TEXT NOT NULL,
    line_id TEXT NOT NULL,
    monthly_fee {INT} NOT NULL,
    start_date TEXT NOT NULL,
    note TEXT NOT NULL,
    state TEXT NOT NULL,
    refusal_reason TEXT,
    replaces_id {INT} REFERENCES bo_applications(id),
    contract_id {INT},
    created_at {INT} NOT NULL,
    decided_at {INT}
);
CREATE INDEX bo_applications_customer ON bo_applications (customer_id, id);
CREATE TABLE bo_contracts (
    id {ID},
    customer_id {INT} NOT NULL REFERENCES customers(id),
    application_id {INT} NOT NULL REFERENCES bo_applications(id),
    line_product TEXT NOT NULL,
    line_id TEXT NOT NULL,
    start_date TEXT NOT NULL,
    monthly_fee {INT} NOT NULL,
    minimum_term_end TEXT NOT NULL,
    ending TEXT,
    end_date TEXT,
    notice_date TEXT,
    requested_end TEXT,
    termination_reason TEXT,
    created_at {INT} NOT NULL
);
CREATE INDEX bo_contracts_customer ON bo_contracts (customer_id, id);
CREATE TABLE bo_contract_equipment (
    contract_id {INT} NOT NULL REFERENCES bo_contracts(id),
    appliance_id {INT} NOT NULL REFERENCES appliances(id),
    PRIMARY KEY (contract_id, appliance_id)
);
CREATE TABLE bo_invoices (
    id {ID},
    number {INT} NOT NULL UNIQUE,
    customer_id {INT} NOT NULL REFERENCES customers(id),
    contract_id {INT} NOT NULL REFERENCES bo_contracts(id),
    month TEXT NOT NULL,
    issue_date TEXT NOT NULL,
    due_date TEXT NOT NULL,
    recipient TEXT NOT NULL,
    taxable_subtotal {INT} NOT NULL,
    non_taxable_subtotal {INT} NOT NULL,
    tax {INT} NOT NULL,
    total {INT} NOT NULL,
    interest_bearing {INT} NOT NULL,
    paid {INT} NOT NULL DEFAULT 0,
    created_at {INT} NOT NULL,
    UNIQUE (contract_id, month)
);
CREATE INDEX bo_invoices_customer ON bo_invoices (customer_id, id);
CREATE INDEX bo_invoices_open ON bo_invoices (due_date) WHERE paid < total;
CREATE TABLE bo_invoice_lines (
    invoice_number {INT} NOT NULL REFERENCES bo_invoices(number),
    seq {INT} NOT NULL,
    kind TEXT NOT NULL,
    amount {INT} NOT NULL,
    taxable {INT} NOT NULL,
    rate_bp {INT},
    date TEXT NOT NULL,
    PRIMARY KEY (invoice_number, seq)
);
CREATE TABLE bo_payments (
    id {ID},
    invoice_id {INT} NOT NULL REFERENCES bo_invoices(id),
    customer_id {INT} NOT NULL REFERENCES customers(id),
    contract_id {INT} NOT NULL REFERENCES bo_contracts(id),
    amount {INT} NOT NULL,
    date TEXT NOT NULL,
    interest {INT} NOT NULL,
    interest_invoice {INT},
    created_at {INT} NOT NULL
);
CREATE INDEX bo_payments_contract ON bo_payments (contract_id, date);
CREATE INDEX bo_payments_interest ON bo_payments (date) WHERE interest > 0 AND interest_invoice IS NULL;
CREATE TABLE bo_notices (
    id {ID},
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    effective_date TEXT NOT NULL,
    created_by {INT} REFERENCES users(id),
    created_at {INT} NOT NULL
);
CREATE TABLE bo_notice_recipients (
    notice_id {INT} NOT NULL REFERENCES bo_notices(id),
    customer_id {INT} NOT NULL REFERENCES customers(id),
    email TEXT NOT NULL,
    sent_at {INT},
    error TEXT,
    PRIMARY KEY (notice_id, customer_id, email)
);
