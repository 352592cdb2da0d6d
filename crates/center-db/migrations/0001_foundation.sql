
CREATE TABLE customers (
    id {ID},
    name TEXT NOT NULL,
    created_at {INT} NOT NULL
);
CREATE TABLE users (
    id {ID},
    customer_id {INT} REFERENCES customers(id),
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT,
    totp_secret TEXT,
    totp_enabled {INT} NOT NULL DEFAULT 0,
    active {INT} NOT NULL DEFAULT 1,
    locale TEXT,
    failed_logins {INT} NOT NULL DEFAULT 0,
    locked_until {INT} NOT NULL DEFAULT 0,
    created_at {INT} NOT NULL
);
CREATE UNIQUE INDEX users_one_active_officer ON users (customer_id) WHERE role = 'officer' AND active = 1;
CREATE INDEX users_customer ON users (customer_id);
CREATE TABLE setup_links (
    token_hash TEXT PRIMARY KEY,
    user_id {INT} REFERENCES users(id),
    purpose TEXT NOT NULL,
    totp_secret TEXT NOT NULL,
    expires_at {INT} NOT NULL,
    used {INT} NOT NULL DEFAULT 0,
    created_at {INT} NOT NULL
);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id {INT} NOT NULL REFERENCES users(id),
    stage TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_at {INT} NOT NULL,
    expires_at {INT} NOT NULL
);
CREATE TABLE api_tokens (
    id {ID},
    token_hash TEXT NOT NULL UNIQUE,
    user_id {INT} NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    customer_id {INT} REFERENCES customers(id),
    created_at {INT} NOT NULL,
    revoked {INT} NOT NULL DEFAULT 0
);
CREATE TABLE sites (
    id {ID},
    customer_id {INT} NOT NULL REFERENCES customers(id),
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    created_at {INT} NOT NULL
);
CREATE INDEX sites_customer ON sites (customer_id);
CREATE TABLE appliances (
    id {ID},
    customer_id {INT} NOT NULL REFERENCES customers(id),
    site_id {INT} REFERENCES sites(id),
    serial TEXT NOT NULL UNIQUE,
    model TEXT NOT NULL,
    created_at {INT} NOT NULL
);
CREATE INDEX appliances_customer ON appliances (customer_id);
CREATE TABLE instructions (
    id {ID},
    customer_id {INT} NOT NULL REFERENCES customers(id),
    submitted_by {INT} NOT NULL REFERENCES users(id),
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    created_at {INT} NOT NULL,
    updated_at {INT} NOT NULL
);
CREATE INDEX instructions_customer ON instructions (customer_id, id);
CREATE TABLE instruction_comments (
    id {ID},
    instruction_id {INT} NOT NULL REFERENCES instructions(id),
    customer_id {INT} NOT NULL REFERENCES customers(id),
    author_id {INT} NOT NULL REFERENCES users(id),
    body TEXT NOT NULL,
    created_at {INT} NOT NULL
);
CREATE INDEX instruction_comments_instruction ON instruction_comments (instruction_id);
CREATE TABLE audit_log (
    seq {INT} PRIMARY KEY,
    at {INT} NOT NULL,
    actor_id {INT},
    actor TEXT NOT NULL,
    customer_id {INT},
    source TEXT NOT NULL,
    action TEXT NOT NULL,
    object TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_customer ON audit_log (customer_id, seq);
