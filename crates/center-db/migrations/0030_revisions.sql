
CREATE TABLE config_revisions (
    id {ID},
    customer_id {INT} NOT NULL REFERENCES customers(id),
    site_id {INT} NOT NULL REFERENCES sites(id),
    number {INT} NOT NULL,
    policy_text TEXT NOT NULL,
    settings_json TEXT NOT NULL,
    author_id {INT} NOT NULL REFERENCES users(id),
    reason TEXT NOT NULL,
    instruction_id {INT} REFERENCES instructions(id),
    state TEXT NOT NULL,
    created_at {INT} NOT NULL,
    reviewed_by {INT} REFERENCES users(id),
    reviewed_at {INT},
    review_note TEXT,
    published_by {INT} REFERENCES users(id),
    published_at {INT},
    generation {INT},
    restored_from {INT},
    UNIQUE (site_id, number),
    UNIQUE (site_id, generation)
);
CREATE INDEX config_revisions_customer ON config_revisions (customer_id, site_id);
CREATE TABLE site_generations (
    site_id {INT} NOT NULL REFERENCES sites(id),
    generation {INT} NOT NULL,
    customer_id {INT} NOT NULL REFERENCES customers(id),
    revision_id {INT} NOT NULL UNIQUE REFERENCES config_revisions(id),
    policy_text TEXT NOT NULL,
    settings_json TEXT NOT NULL,
    published_by {INT} NOT NULL REFERENCES users(id),
    published_at {INT} NOT NULL,
    PRIMARY KEY (site_id, generation)
);
CREATE INDEX site_generations_published ON site_generations (published_at);
