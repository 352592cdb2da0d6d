//! The OpenAPI 3.1 document of `/api/v1`, written by hand next to the routes it
//! describes (`api.rs`); a test checks that every route is in it.

use serde_json::{Value, json};

fn obj(props: &[(&str, &str)], required: &[&str]) -> Value {
    let mut p = serde_json::Map::new();
    for (k, t) in props {
        let schema = match *t {
            "int?" => json!({"type": ["integer", "null"]}),
            "string?" => json!({"type": ["string", "null"]}),
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
    let paths = json!({
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
        "/api/v1/appliances": {"get": op("Appliances", None, ("200", "[Appliance"), false), "post": op("Create an appliance record", Some("NewAppliance"), ("201", "Appliance"), false)},
        "/api/v1/appliances/{id}": {"get": op("One appliance", None, ("200", "Appliance"), true)},
        "/api/v1/instructions": {"get": op("Instructions, newest first: `limit` (default 25, at most 500) and `before` (an id: the next page is the one before the last id of this one)", None, ("200", "[Instruction"), false), "post": op("Submit an instruction (the customer's security officer only)", Some("NewInstruction"), ("201", "Instruction"), false)},
        "/api/v1/instructions/{id}": {"get": op("One instruction with its comments", None, ("200", "Instruction"), true)},
        "/api/v1/instructions/{id}/accept": {"post": op("Accept (coordinators, operators)", Some("Decision"), ("200", "Instruction"), true)},
        "/api/v1/instructions/{id}/reject": {"post": op("Reject with a reason (coordinators, operators)", Some("Decision"), ("200", "Instruction"), true)},
        "/api/v1/instructions/{id}/done": {"post": op("Mark done (coordinators, operators)", Some("Decision"), ("200", "Instruction"), true)},
        "/api/v1/instructions/{id}/comments": {"post": op("Comment", Some("NewComment"), ("201", "Comment"), true)},
        "/api/v1/audit": {"get": op("The audit trail the caller may see, newest first", None, ("200", "[AuditEntry"), false)},
        "/api/v1/tokens": {"post": op("Issue an API token scoped to a role and a customer", Some("NewToken"), ("201", "CreatedToken"), false)}
    });
    let schemas = json!({
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
        "Appliance": obj(&[("id", "integer"), ("customer_id", "integer"), ("site_id", "int?"), ("serial", "string"), ("model", "string"), ("created_at", "string")], &["id", "customer_id", "serial", "model"]),
        "NewAppliance": obj(&[("customer_id", "integer"), ("site_id", "int?"), ("serial", "string"), ("model", "string")], &["customer_id", "serial", "model"]),
        "Instruction": obj(&[("id", "integer"), ("customer_id", "integer"), ("submitted_by", "integer"), ("subject", "string"), ("body", "string"), ("kind", "string"), ("state", "string"), ("reason", "string?"), ("created_at", "string"), ("updated_at", "string"), ("comments", "comments")], &["id", "customer_id", "subject", "kind", "state"]),
        "NewInstruction": obj(&[("subject", "string"), ("body", "string"), ("kind", "string")], &["subject", "body", "kind"]),
        "Decision": obj(&[("reason", "string?")], &[]),
        "Comment": obj(&[("id", "integer"), ("author_id", "integer"), ("body", "string"), ("created_at", "string")], &["id", "body"]),
        "NewComment": obj(&[("body", "string")], &["body"]),
        "AuditEntry": obj(&[("seq", "integer"), ("at", "string"), ("actor_id", "int?"), ("actor", "string"), ("customer_id", "int?"), ("source", "string"), ("action", "string"), ("object", "string"), ("outcome", "string"), ("detail", "string")], &["seq", "at", "actor", "action", "outcome"]),
        "NewToken": obj(&[("name", "string"), ("role", "string"), ("customer_id", "int?")], &["name", "role"]),
        "CreatedToken": obj(&[("id", "integer"), ("token", "string"), ("role", "string"), ("customer_id", "int?")], &["id", "token", "role"])
    });
    let (mut paths, mut schemas) = (paths, schemas);
    let (more_paths, more_schemas) = super::revisions_api::openapi();
    for (dst, src) in [(&mut paths, more_paths), (&mut schemas, more_schemas)] {
        if let (Some(d), Value::Object(s)) = (dst.as_object_mut(), src) {
            d.extend(s);
        }
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
    #[test]
    fn every_route_is_documented() {
        let doc: serde_json::Value = serde_json::from_str(&super::document()).unwrap();
        let src = include_str!("api.rs");
        for line in src
            .lines()
            .filter(|l| l.trim_start().starts_with(".route(\""))
        {
            let path = line.split('"').nth(1).unwrap();
            if path == "/openapi.json" {
                continue;
            }
            let full = format!("/api/v1{path}");
            assert!(
                doc["paths"].get(&full).is_some(),
                "{full} is routed but not in the OpenAPI document"
            );
        }
    }
}
