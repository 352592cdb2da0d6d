//! The OpenAPI 3.1 document of `/api/v1`, written by hand next to the routes it
//! describes (`api.rs`); a test checks that every route is in it.

use serde_json::{Value, json};

fn obj(props: &[(&str, &str)], required: &[&str]) -> Value {
    let mut p = serde_json::Map::new();
    for (k, t) in props {
        let schema = match *t {
            "int?" | "integer?" => json!({"type": ["integer", "null"]}),
            "string?" => json!({"type": ["string", "null"]}),
            "[integer" => json!({"type": "array", "items": {"type": "integer"}}),
            t if t.starts_with('[') => schema_ref(t),
            t if t.starts_with('@') => schema_ref(&t[1..]),
            "comments" => {
                json!({"type": "array", "items": {"$ref": "#/components/schemas/Comment"}})
            }
            "officer" => json!({"$ref": "#/components/schemas/NewOfficer"}),
            "user" => json!({"$ref": "#/components/schemas/User"}),
            "customer" => json!({"$ref": "#/components/schemas/Customer"}),
            "invitation" => json!({"$ref": "#/components/schemas/Invitation"}),
            t => json!({"type": t}),
        };
        p.insert((*k).into(), schema);
    }
    json!({"type": "object", "properties": p, "required": required})
}

fn op(summary: &str, body: Option<&str>, ok: (&str, &str), id: bool) -> Value {
    let mut o = json!({
        "summary": summary,
        "responses": {
            ok.0: {"description": "success", "content": {"application/json": {"schema": schema_ref(ok.1)}}},
            "default": {"description": "error", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
        }
    });
    if let Some(b) = body {
        o["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{b}")}}}});
    }
    if id {
        o["parameters"] =
            json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}]);
    }
    o
}

/// `o` with query parameters: (name, type, required).
fn query(mut o: Value, params: &[(&str, &str, bool)]) -> Value {
    let mut list = o["parameters"].as_array().cloned().unwrap_or_default();
    for (name, t, required) in params {
        list.push(
            json!({"name": name, "in": "query", "required": required, "schema": {"type": t}}),
        );
    }
    o["parameters"] = Value::Array(list);
    o
}

/// `o` answering `media` (not JSON) on success.
fn answers(mut o: Value, media: &str, schema: Value) -> Value {
    o["responses"]["200"] =
        json!({"description": "success", "content": {media: {"schema": schema}}});
    o
}

fn schema_ref(name: &str) -> Value {
    match name.strip_prefix('[') {
        Some(inner) => {
            json!({"type": "array", "items": {"$ref": format!("#/components/schemas/{inner}")}})
        }
        None => json!({"$ref": format!("#/components/schemas/{name}")}),
    }
}

/// The document as JSON text.
pub fn document() -> String {
    let mut paths = json!({
        "/api/v1/login": {"post": op("Sign in with e-mail, password and TOTP code; returns a session token", Some("LoginRequest"), ("200", "LoginResponse"), false)},
        "/api/v1/setup/{token}": {
            "get": {"summary": "What a one-time setup link is for, with the TOTP secret to enrol", "parameters": [{"name": "token", "in": "path", "required": true, "schema": {"type": "string"}}], "responses": {"200": {"description": "success", "content": {"application/json": {"schema": schema_ref("SetupInfo")}}}}},
            "post": {"summary": "Set password and TOTP through a one-time link", "parameters": [{"name": "token", "in": "path", "required": true, "schema": {"type": "string"}}], "requestBody": {"required": true, "content": {"application/json": {"schema": schema_ref("SetupRequest")}}}, "responses": {"201": {"description": "the account", "content": {"application/json": {"schema": schema_ref("User")}}}}}
        },
        "/api/v1/me": {"get": op("The caller", None, ("200", "Me"), false)},
        "/api/v1/users": {"get": op("Users the caller may see", None, ("200", "[User"), false), "post": op("Create a user (administrators; officers create staff)", Some("NewUser"), ("201", "Invitation"), false)},
        "/api/v1/users/{id}": {"get": op("One user", None, ("200", "User"), true)},
        "/api/v1/users/{id}/deactivate": {"post": op("Deactivate a user", None, ("200", "User"), true)},
        "/api/v1/users/{id}/role": {"post": op("Change a provider user's role (administrators)", Some("RoleChange"), ("200", "User"), true)},
        "/api/v1/customers": {"get": op("Customers the caller may see", None, ("200", "[Customer"), false), "post": op("Create a customer with its security officer", Some("NewCustomer"), ("201", "CreatedCustomer"), false)},
        "/api/v1/customers/{id}": {"get": op("One customer", None, ("200", "Customer"), true)},
        "/api/v1/sites": {"get": op("Sites", None, ("200", "[Site"), false), "post": op("Create a site", Some("NewSite"), ("201", "Site"), false)},
        "/api/v1/sites/{id}": {"get": op("One site", None, ("200", "Site"), true)},
        "/api/v1/instructions": {"get": op("Instructions, newest first: `limit` (default 25, at most 500) and `before` (an id: the next page is the one before the last id of this one)", None, ("200", "[Instruction"), false), "post": op("Submit an instruction (the customer's security officer only)", Some("NewInstruction"), ("201", "Instruction"), false)},
        "/api/v1/instructions/{id}": {"get": op("One instruction with its comments", None, ("200", "Instruction"), true)},
        "/api/v1/instructions/{id}/accept": {"post": op("Accept (coordinators, operators)", Some("Decision"), ("200", "Instruction"), true)},
        "/api/v1/instructions/{id}/reject": {"post": op("Reject with a reason (coordinators, operators)", Some("Decision"), ("200", "Instruction"), true)},
        "/api/v1/instructions/{id}/done": {"post": op("Mark done (coordinators, operators)", Some("Decision"), ("200", "Instruction"), true)},
        "/api/v1/instructions/{id}/comments": {"post": op("Comment", Some("NewComment"), ("201", "Comment"), true)},
        "/api/v1/audit": {"get": op("The audit trail the caller may see, newest first", None, ("200", "[AuditEntry"), false)},
        "/api/v1/tokens": {"get": op("The API tokens the caller may see (never their secrets), newest first: the caller's own; an administrator's, every one", None, ("200", "[Token"), false), "post": op("Issue an API token scoped to a role and a customer, optionally expiring (`expires_in_days`); it never acts with more than its owner's current role allows", Some("NewToken"), ("201", "CreatedToken"), false)},
        "/api/v1/tokens/{id}": {"delete": op("Revoke an API token (its owner, or an administrator); another's token is 404", None, ("200", "Token"), true)}
    });
    // Back office (provider back-office staff and administrators).
    let backoffice = json!({
        "/api/v1/backoffice/applications": {"get": op("Service applications", None, ("200", "[Application"), false), "post": op("Record an application for the service", Some("NewApplication"), ("201", "Application"), false)},
        "/api/v1/backoffice/applications/{id}": {"get": op("One application", None, ("200", "Application"), true)},
        "/api/v1/backoffice/applications/{id}/accept": {"post": op("Accept an application: the contract starts and the customer is notified", Some("Accept"), ("201", "Accepted"), true)},
        "/api/v1/backoffice/applications/{id}/refuse": {"post": op("Refuse an application with a reason", Some("Refuse"), ("200", "Application"), true)},
        "/api/v1/backoffice/contracts": {"get": op("Contracts", None, ("200", "[Contract"), false)},
        "/api/v1/backoffice/contracts/{id}": {"get": op("One contract", None, ("200", "Contract"), true)},
        "/api/v1/backoffice/contracts/{id}/cancellation-preview": {"post": op("What a cancellation by the customer would give (end date, early-termination charge), without changing anything", Some("Cancel"), ("200", "CancellationPreview"), true)},
        "/api/v1/backoffice/contracts/{id}/equipment": {"post": op("Lend one more unit of the inventory under a contract (in stock -> lent)", Some("LendUnit"), ("200", "Contract"), true)},
        "/api/v1/backoffice/equipment-returns": {"post": op("Take back the units of every contract that has reached its end (-> returned, Art. 15)", None, ("200", "[TakenBack"), false)},
        "/api/v1/backoffice/contracts/{id}/cancel": {"post": op("Cancel a contract at the customer's request", Some("Cancel"), ("200", "Cancelled"), true)},
        "/api/v1/backoffice/contracts/{id}/terminate": {"post": op("Terminate a contract by the provider, with a reason", Some("Terminate"), ("200", "Terminated"), true)},
        "/api/v1/backoffice/contracts/{id}/payments": {"get": op("Payments of a contract", None, ("200", "[Payment"), true)},
        "/api/v1/backoffice/contracts/{id}/liability-cap": {"get": query(op("The liability cap for damage caused on a date (fees paid in the preceding period)", None, ("200", "LiabilityCap"), true), &[("cause_date", "string", true)])},
        "/api/v1/backoffice/invoice-runs": {"post": op("Issue the invoices of a month (idempotent per month)", Some("InvoiceRun"), ("200", "InvoiceRunReport"), false)},
        "/api/v1/backoffice/invoices": {"get": query(op("Invoices", None, ("200", "[Invoice"), false), &[("contract_id", "integer", false)])},
        "/api/v1/backoffice/invoices/overdue": {"get": op("Invoices past their due date and not fully paid", None, ("200", "[Invoice"), false)},
        "/api/v1/backoffice/invoices/{id}": {"get": op("One invoice", None, ("200", "Invoice"), true)},
        "/api/v1/backoffice/invoices/{id}/html": {"get": answers(query(op("An invoice as an HTML document (`lang`: ja, the default, or en)", None, ("200", "Invoice"), true), &[("lang", "string", false)]), "text/html", json!({"type": "string"}))},
        "/api/v1/backoffice/invoices/{id}/pdf": {"get": answers(query(op("An invoice as a PDF document (`lang`: ja, the default, or en)", None, ("200", "Invoice"), true), &[("lang", "string", false)]), "application/pdf", json!({"type": "string", "format": "binary"}))},
        "/api/v1/backoffice/payments": {"post": op("Record a payment of an invoice", Some("NewPayment"), ("201", "Payment"), false)},
        "/api/v1/backoffice/notices": {"get": op("Notices sent to customers", None, ("200", "[Notice"), false), "post": op("Send a notice to customers by e-mail", Some("NewNotice"), ("201", "Notice"), false)}
    });
    // Managed gateways: equipment inventory and enrolment.
    let gateways = json!({
        "/api/v1/equipment": {"get": query(op("Gateway units in the inventory", None, ("200", "[Equipment"), false), &[("state", "string", false), ("customer_id", "integer", false)]), "post": op("Put a new unit into stock", Some("NewEquipment"), ("201", "Equipment"), false)},
        "/api/v1/equipment/{id}": {"get": op("One unit with its history", None, ("200", "Equipment"), true)},
        "/api/v1/equipment/{id}/move": {"post": op("Move a unit to another state (lent, installed, disconnected, relocating, failed, replaced, returned)", Some("MoveEquipment"), ("200", "Equipment"), true)},
        "/api/v1/sites/{id}/enrolment-tokens": {"post": op("A one-time enrolment token for a unit installed at this site", Some("NewEnrolmentToken"), ("201", "EnrolmentToken"), true)},
        "/api/v1/tasks": {"get": op("The background tasks: schedule, last run, next due", None, ("200", "[Task"), false)},
        "/api/v1/tasks/{name}/runs": {"get": query(op("A task's latest runs, newest first", None, ("200", "[TaskRun"), false), &[("limit", "integer", false)])},
        "/api/v1/tasks/{name}/run": {"post": op("Run a task now (administrators and operators); the finished run", None, ("200", "TaskRun"), false)},
        "/api/v1/fleet": {"get": query(op("The fleet: per enrolled unit, last contact, applied vs desired generation, last apply, drift", None, ("200", "[FleetAppliance"), false), &[("customer_id", "integer", false), ("state", "string", false)])}
    });
    for part in [backoffice, gateways] {
        if let (Some(all), Value::Object(more)) = (paths.as_object_mut(), part) {
            all.extend(more);
        }
    }
    let mut schemas = json!({
        "Problem": obj(&[("type", "string"), ("title", "string"), ("status", "integer"), ("detail", "string"), ("hint", "string")], &["type", "title", "status", "detail"]),
        "LoginRequest": obj(&[("email", "string"), ("password", "string"), ("totp_code", "string?")], &["email", "password"]),
        "LoginResponse": obj(&[("token", "string"), ("expires_at", "string")], &["token", "expires_at"]),
        "SetupInfo": obj(&[("purpose", "string"), ("email", "string?"), ("role", "string"), ("totp_secret", "string"), ("totp_uri", "string"), ("totp_required", "boolean")], &["purpose", "role", "totp_secret"]),
        "SetupRequest": obj(&[("email", "string?"), ("display_name", "string"), ("password", "string"), ("totp_code", "string?")], &["display_name", "password"]),
        "User": obj(&[("id", "integer"), ("customer_id", "int?"), ("email", "string"), ("display_name", "string"), ("role", "string"), ("active", "boolean"), ("totp_enabled", "boolean"), ("locale", "string?"), ("created_at", "string")], &["id", "email", "role"]),
        "Me": obj(&[("user", "user"), ("role", "string"), ("customer_id", "int?")], &["user", "role"]),
        "NewUser": obj(&[("email", "string"), ("display_name", "string"), ("role", "string"), ("customer_id", "int?")], &["email", "display_name", "role"]),
        "RoleChange": obj(&[("role", "string")], &["role"]),
        "Invitation": obj(&[("user", "user"), ("setup_path", "string")], &["user", "setup_path"]),
        "Customer": obj(&[("id", "integer"), ("name", "string"), ("created_at", "string")], &["id", "name"]),
        "NewOfficer": obj(&[("email", "string"), ("display_name", "string")], &["email", "display_name"]),
        "NewCustomer": obj(&[("name", "string"), ("officer", "officer")], &["name", "officer"]),
        "CreatedCustomer": obj(&[("customer", "customer"), ("officer", "invitation")], &["customer", "officer"]),
        "Site": obj(&[("id", "integer"), ("customer_id", "integer"), ("name", "string"), ("address", "string"), ("created_at", "string")], &["id", "customer_id", "name"]),
        "NewSite": obj(&[("customer_id", "integer"), ("name", "string"), ("address", "string")], &["customer_id", "name"]),
        "Instruction": obj(&[("id", "integer"), ("customer_id", "integer"), ("submitted_by", "integer"), ("subject", "string"), ("body", "string"), ("kind", "string"), ("state", "string"), ("reason", "string?"), ("created_at", "string"), ("updated_at", "string"), ("comments", "comments")], &["id", "customer_id", "subject", "kind", "state"]),
        "NewInstruction": obj(&[("subject", "string"), ("body", "string"), ("kind", "string")], &["subject", "body", "kind"]),
        "Decision": obj(&[("reason", "string?")], &[]),
        "Comment": obj(&[("id", "integer"), ("author_id", "integer"), ("body", "string"), ("created_at", "string")], &["id", "body"]),
        "NewComment": obj(&[("body", "string")], &["body"]),
        "AuditEntry": obj(&[("seq", "integer"), ("at", "string"), ("actor_id", "int?"), ("actor", "string"), ("customer_id", "int?"), ("source", "string"), ("action", "string"), ("object", "string"), ("outcome", "string"), ("detail", "string")], &["seq", "at", "actor", "action", "outcome"]),
        "NewToken": obj(&[("name", "string"), ("role", "string"), ("customer_id", "int?"), ("expires_in_days", "int?")], &["name", "role"]),
        "CreatedToken": obj(&[("id", "integer"), ("token", "string"), ("role", "string"), ("customer_id", "int?"), ("expires_at", "string?")], &["id", "token", "role"]),
        "Token": obj(&[("id", "integer"), ("name", "string"), ("role", "string"), ("customer_id", "int?"), ("owner_id", "integer"), ("owner", "string"), ("created_at", "string"), ("expires_at", "string?"), ("last_used_at", "string?"), ("revoked", "boolean"), ("revoked_at", "string?")], &["id", "name", "role", "owner_id", "owner", "created_at", "revoked"])
    });
    let (more_paths, more_schemas) = super::revisions_api::openapi();
    for (dst, src) in [(&mut paths, more_paths), (&mut schemas, more_schemas)] {
        if let (Some(d), Value::Object(s)) = (dst.as_object_mut(), src) {
            d.extend(s);
        }
    }
    let more_schemas = json!({
        "NewApplication": obj(&[("customer_id", "integer"), ("line_product", "string"), ("line_id", "string"), ("monthly_fee", "integer"), ("start", "string"), ("note", "string"), ("replaces", "integer?")], &["customer_id", "line_product", "line_id", "monthly_fee", "start"]),
        "Application": obj(&[("id", "integer"), ("customer_id", "integer"), ("line_product", "string"), ("line_id", "string"), ("monthly_fee", "integer"), ("start", "string"), ("note", "string"), ("state", "string"), ("refusal_reason", "string?"), ("replaces", "integer?"), ("contract_id", "integer?"), ("created_at", "string")], &["id", "customer_id", "line_product", "line_id", "monthly_fee", "start", "note", "state", "created_at"]),
        "Accept": obj(&[("equipment", "[integer")], &[]),
        "LendUnit": obj(&[("equipment_id", "integer")], &["equipment_id"]),
        "TakenBack": obj(&[("contract_id", "integer"), ("equipment_id", "integer"), ("outcome", "string")], &["contract_id", "equipment_id", "outcome"]),
        "Refuse": obj(&[("reason", "string")], &["reason"]),
        "Accepted": obj(&[("contract", "@Contract"), ("notice", "@Notice")], &["contract", "notice"]),
        "Contract": obj(&[("id", "integer"), ("customer_id", "integer"), ("application_id", "integer"), ("line_product", "string"), ("line_id", "string"), ("start", "string"), ("monthly_fee", "integer"), ("minimum_term_end", "string"), ("status", "string"), ("end", "string?"), ("notice_date", "string?"), ("requested_end", "string?"), ("termination_reason", "string?"), ("equipment", "[integer"), ("created_at", "string")], &["id", "customer_id", "application_id", "line_product", "line_id", "start", "monthly_fee", "minimum_term_end", "status", "equipment", "created_at"]),
        "Cancel": obj(&[("end", "string")], &["end"]),
        "CancellationPreview": obj(&[("notice_date", "string"), ("requested_end", "string"), ("earliest_end", "string"), ("end", "string"), ("moved", "boolean"), ("minimum_term_end", "string"), ("early_termination", "integer")], &["notice_date", "requested_end", "earliest_end", "end", "moved", "minimum_term_end", "early_termination"]),
        "Cancelled": obj(&[("contract", "@Contract"), ("cancellation", "@CancellationPreview")], &["contract", "cancellation"]),
        "Terminate": obj(&[("reason", "string"), ("urgent", "boolean"), ("notice_date", "string?"), ("end", "string")], &["reason", "end"]),
        "Terminated": obj(&[("contract", "@Contract"), ("invoices_due_at_once", "integer")], &["contract", "invoices_due_at_once"]),
        "InvoiceRun": obj(&[("month", "string")], &["month"]),
        "InvoiceRunReport": obj(&[("month", "string"), ("issued", "integer"), ("first_number", "integer?"), ("last_number", "integer?")], &["month", "issued"]),
        "InvoiceLine": obj(&[("kind", "string"), ("amount", "integer"), ("taxable", "boolean"), ("rate_basis_points", "integer?"), ("date", "string")], &["kind", "amount", "taxable", "date"]),
        "Invoice": obj(&[("id", "integer"), ("number", "integer"), ("number_text", "string"), ("customer_id", "integer"), ("contract_id", "integer"), ("month", "string"), ("issue_date", "string"), ("due_date", "string"), ("recipient", "string"), ("taxable_subtotal", "integer"), ("non_taxable_subtotal", "integer"), ("tax", "integer"), ("total", "integer"), ("paid", "integer"), ("lines", "[InvoiceLine")], &["id", "number", "number_text", "customer_id", "contract_id", "month", "issue_date", "due_date", "recipient", "taxable_subtotal", "non_taxable_subtotal", "tax", "total", "paid", "lines"]),
        "NewPayment": obj(&[("invoice_id", "integer"), ("amount", "integer"), ("date", "string")], &["invoice_id", "amount", "date"]),
        "Payment": obj(&[("id", "integer"), ("invoice_id", "integer"), ("contract_id", "integer"), ("amount", "integer"), ("date", "string"), ("interest", "integer"), ("interest_invoice", "integer?")], &["id", "invoice_id", "contract_id", "amount", "date", "interest"]),
        "LiabilityCap": obj(&[("contract_id", "integer"), ("cause_date", "string"), ("from", "string"), ("to", "string"), ("payments", "[CountedPayment"), ("cap", "integer")], &["contract_id", "cause_date", "from", "to", "payments", "cap"]),
        "CountedPayment": obj(&[("date", "string"), ("amount", "integer")], &["date", "amount"]),
        "NewNotice": obj(&[("kind", "string"), ("subject", "string"), ("body", "string"), ("effective_date", "string"), ("customers", "[integer")], &["kind", "subject", "body", "effective_date", "customers"]),
        "Notice": obj(&[("id", "integer"), ("kind", "string"), ("subject", "string"), ("body", "string"), ("effective_date", "string"), ("created_at", "string"), ("recipients", "[NoticeRecipient")], &["id", "kind", "subject", "body", "effective_date", "created_at", "recipients"]),
        "NoticeRecipient": obj(&[("customer_id", "integer"), ("email", "string"), ("sent_at", "string?"), ("error", "string?")], &["customer_id", "email"]),
        "Equipment": obj(&[("id", "integer"), ("serial", "string"), ("model", "string"), ("state", "string"), ("customer_id", "integer?"), ("site_id", "integer?"), ("created_at", "string"), ("updated_at", "string"), ("history", "[EquipmentEvent")], &["id", "serial", "model", "state", "created_at", "updated_at"]),
        "EquipmentEvent": obj(&[("at", "string"), ("actor", "string"), ("from", "string?"), ("to", "string"), ("customer_id", "integer?"), ("site_id", "integer?"), ("note", "string")], &["at", "actor", "to", "note"]),
        "NewEquipment": obj(&[("serial", "string"), ("model", "string")], &["serial", "model"]),
        "MoveEquipment": obj(&[("to", "string"), ("customer_id", "integer?"), ("site_id", "integer?"), ("note", "string")], &["to"]),
        "NewEnrolmentToken": obj(&[("equipment_id", "integer"), ("ttl_minutes", "integer?")], &["equipment_id"]),
        "Task": obj(&[("name", "string"), ("every_secs", "int?"), ("last_run", "@TaskRun"), ("next_due", "string?")], &["name"]),
        "TaskRun": obj(&[("id", "integer"), ("task", "string"), ("trigger", "string"), ("requested_by", "int?"), ("started_at", "string"), ("finished_at", "string?"), ("outcome", "string?"), ("detail", "string")], &["id", "task", "trigger", "started_at", "detail"]),
        "FleetAppliance": obj(&[("equipment_id", "integer"), ("serial", "string"), ("customer_id", "integer"), ("customer", "string"), ("site_id", "integer"), ("site", "string"), ("state", "string"), ("last_contact", "string?"), ("applied_generation", "integer?"), ("desired_generation", "integer?"), ("apply_state", "string?"), ("apply_generation", "integer?"), ("apply_error", "string?"), ("drift", "string?")], &["equipment_id", "serial", "customer_id", "customer", "site_id", "site", "state"]),
        "EnrolmentToken": obj(&[("token", "string"), ("site_id", "integer"), ("equipment_id", "integer"), ("expires_at", "string")], &["token", "site_id", "equipment_id", "expires_at"])
    });
    if let (Some(all), Value::Object(more)) = (schemas.as_object_mut(), more_schemas) {
        all.extend(more);
    }
    let doc = json!({
        "openapi": "3.1.0",
        "info": {"title": "Mamori center API", "version": "1", "description": "Every object of another customer answers 404, exactly like a missing one. Errors are RFC 9457 problem details."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}, "schemas": schemas},
        "paths": paths
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    /// The `.route(path, methods)` calls in `routes()` of one source file: each path
    /// with the HTTP methods of its method router.
    fn routes_in(src: &str) -> Vec<(String, BTreeSet<&'static str>)> {
        let start = src.find("pub fn routes()").expect("a routes() function");
        let body = &src[start..];
        let body = &body[..body.find("\n}\n").unwrap_or(body.len())];
        let mut out = Vec::new();
        for chunk in body.split(".route(").skip(1) {
            let path = chunk.split('"').nth(1).expect("a literal path");
            // The method router: up to the parenthesis that closes `.route(`.
            let mut depth = 1;
            let end = chunk
                .char_indices()
                .find(|&(_, c)| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .map_or(chunk.len(), |(i, _)| i);
            let methods = &chunk[..end];
            let mut set = BTreeSet::new();
            for m in ["get", "post", "put", "patch", "delete"] {
                let called = methods.match_indices(&format!("{m}(")).any(|(i, _)| {
                    i == 0
                        || !methods.as_bytes()[i - 1].is_ascii_alphanumeric()
                            && methods.as_bytes()[i - 1] != b'_'
                });
                if called {
                    set.insert(m);
                }
            }
            assert!(!set.is_empty(), "no method for {path}");
            out.push((path.to_string(), set));
        }
        out
    }

    /// Every route of `/api/v1`, in `api.rs` and in every module it merges, with every
    /// method, is in the document.
    #[test]
    fn every_route_is_documented() {
        let doc: serde_json::Value = serde_json::from_str(&super::document()).unwrap();
        let api = include_str!("api.rs");
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http");
        let mut routes = routes_in(api);
        let mut merged = 0;
        for part in api.split(".merge(super::").skip(1) {
            let module = part.split("::").next().unwrap();
            let src = std::fs::read_to_string(dir.join(format!("{module}.rs")))
                .unwrap_or_else(|e| panic!("{module}.rs: {e}"));
            routes.extend(routes_in(&src));
            merged += 1;
        }
        assert!(merged >= 2, "the merged modules were not found");
        assert!(routes.len() > 40, "too few routes found: {routes:?}");
        let mut missing = Vec::new();
        for (path, methods) in &routes {
            if path == "/openapi.json" {
                continue;
            }
            let full = format!("/api/v1{path}");
            for m in methods {
                if doc["paths"][&full].get(*m).is_none() {
                    missing.push(format!("{} {full}", m.to_uppercase()));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "routed but not in the OpenAPI document: {missing:?}"
        );
    }

    /// Every schema a path refers to exists.
    #[test]
    fn every_reference_resolves() {
        let text = super::document();
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        for r in text.split("\"#/components/schemas/").skip(1) {
            let name = r.split('"').next().unwrap();
            assert!(
                doc["components"]["schemas"].get(name).is_some(),
                "{name} is referred to but not defined"
            );
        }
    }

    #[test]
    fn the_route_reader_sees_methods_and_multi_line_routes() {
        let src = "pub fn routes() -> Router {\n    Router::new()\n        .route(\n            \"/a/{id}\",\n            get(one).post(create),\n        )\n        .route(\"/b\", post(target))\n}\n";
        let r = routes_in(src);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].0, "/a/{id}");
        assert_eq!(r[0].1.iter().copied().collect::<Vec<_>>(), ["get", "post"]);
        assert_eq!(r[1].1.iter().copied().collect::<Vec<_>>(), ["post"]);
    }
}
