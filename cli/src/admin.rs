//! `syncgate admin`: the edge's operator API (`/admin/v1/instances/{instance}…`) from a shell.
//!
//! Each subcommand is one HTTP call with the admin token as `Authorization: Bearer …`. The
//! edge's JSON answer is printed as it came (pretty-printed), so a generated signing secret or
//! a new API key, which the edge shows exactly once, is on standard output. The answer's `ETag`
//! goes to standard error as `etag: "<revision>"`, ready for `--if-match`. A problem answer
//! (`application/problem+json`) becomes `error: <code>: <detail>` and exit status 1.
//!
//! Policies given to `create-instance` are checked with the core's own reader before anything
//! is sent, so a typo is reported locally and a malformed secret never leaves the machine.

use std::time::Duration;

use serde_json::{Map, Value, json};
use syncgate::{TenantPolicy, is_valid_instance_code};

use crate::args::{AdminAction, AdminArgs, KeyStatusArg};
use crate::failure::{Failure, Outcome};
use crate::io;

/// One call to the admin API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The HTTP method.
    pub method: &'static str,
    /// The path after `/admin/v1/instances/{instance}` (empty or starting with `/`).
    pub path: String,
    /// The JSON body, when the call has one.
    pub body: Option<Value>,
}

/// A kid or API key id as it may appear in a path: what the policy itself accepts.
fn path_segment<'a>(what: &str, value: &'a str) -> Outcome<&'a str> {
    let ok = !value.is_empty()
        && value.len() <= 128
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(value)
    } else {
        Err(Failure::usage(format!(
            "{what} must be 1 to 128 characters of a-z, A-Z, 0-9, '-', '_' or '.'"
        )))
    }
}

/// A comma-separated list, blanks dropped.
fn list(text: &str) -> Vec<Value> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| Value::String(s.to_string()))
        .collect()
}

/// The body of `create-instance`: the policy file (or `{}`) with the flags filled in, checked by
/// the core's policy reader.
fn instance_body(
    instance: &str,
    tenant: Option<&str>,
    origin: Option<&str>,
    policy_file: Option<&str>,
) -> Outcome<Value> {
    let mut policy = match policy_file {
        Some(path) => {
            let text = io::read_text_file(path)?;
            match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(map)) => map,
                Ok(_) => return Err(Failure::usage(format!("{path} must hold a json object"))),
                Err(e) => {
                    return Err(Failure::usage(format!(
                        "{path}: {}",
                        syncgate::error::describe_error(&e)
                    )));
                }
            }
        }
        None => Map::new(),
    };
    match policy.get("instance").and_then(Value::as_str) {
        Some(named) if named != instance => {
            return Err(Failure::usage(
                "the policy file names another instance than --instance",
            ));
        }
        _ => {
            policy.insert("instance".into(), Value::String(instance.to_string()));
        }
    }
    if let Some(tenant) = tenant {
        policy.insert("tenant".into(), Value::String(tenant.to_string()));
    }
    if let Some(origin) = origin {
        policy.insert("origin".into(), Value::String(origin.to_string()));
    }
    if !policy.contains_key("tenant") {
        return Err(Failure::usage(
            "create-instance needs --tenant (or a tenant in --policy)",
        ));
    }
    let policy = Value::Object(policy);
    TenantPolicy::from_json(&policy.to_string())
        .map_err(|r| Failure::usage(format!("policy: {r}")))?;
    Ok(policy)
}

/// The call an action makes.
///
/// # Errors
/// A usage failure for arguments the edge would refuse anyway.
pub fn call_for(instance: &str, action: &AdminAction) -> Outcome<Call> {
    let call = |method, path: String, body| Call { method, path, body };
    Ok(match action {
        AdminAction::CreateInstance {
            tenant,
            origin,
            policy,
        } => call(
            "PUT",
            String::new(),
            Some(instance_body(
                instance,
                tenant.as_deref(),
                origin.as_deref(),
                policy.as_deref(),
            )?),
        ),
        AdminAction::GetInstance => call("GET", String::new(), None),
        AdminAction::DeleteInstance => call("DELETE", String::new(), None),
        AdminAction::AddKey {
            kid,
            version,
            secret,
            status,
        } => {
            let mut body = json!({
                "kid": path_segment("--kid", kid)?,
                "version": version,
                "status": match status {
                    KeyStatusArg::Active => "active",
                    KeyStatusArg::Retiring => "retiring",
                },
            });
            if let Some(secret) = secret {
                // Checked here so a malformed secret is never sent (and never echoed).
                syncgate::Secret::from_whsec(secret)
                    .map_err(|reason| Failure::usage(format!("--secret: {reason}")))?;
                if let Some(object) = body.as_object_mut() {
                    object.insert("secret".into(), Value::String(secret.clone()));
                }
            }
            call("POST", "/keys".into(), Some(body))
        }
        AdminAction::RetireKey { kid } => call(
            "PATCH",
            format!("/keys/{}", path_segment("--kid", kid)?),
            Some(json!({ "status": "retiring" })),
        ),
        AdminAction::RevokeKey { kid } => call(
            "PATCH",
            format!("/keys/{}", path_segment("--kid", kid)?),
            Some(json!({ "status": "revoked" })),
        ),
        AdminAction::IssueApiKey {
            scopes,
            fields,
            name,
        } => {
            let scopes = list(scopes);
            if scopes.is_empty() {
                return Err(Failure::usage("--scopes must name at least one scope"));
            }
            let mut body = Map::new();
            body.insert("scopes".into(), Value::Array(scopes));
            if let Some(fields) = fields {
                body.insert("fields".into(), Value::Array(list(fields)));
            }
            if let Some(name) = name {
                body.insert("name".into(), Value::String(name.clone()));
            }
            call("POST", "/api-keys".into(), Some(Value::Object(body)))
        }
        AdminAction::RevokeApiKey { id } => call(
            "DELETE",
            format!("/api-keys/{}", path_segment("--id", id)?),
            None,
        ),
        AdminAction::AccessLog { limit, cursor } => {
            let mut query = Vec::new();
            if let Some(limit) = limit {
                query.push(format!("limit={limit}"));
            }
            if let Some(cursor) = cursor {
                query.push(format!("cursor={}", path_segment("--cursor", cursor)?));
            }
            let query = if query.is_empty() {
                String::new()
            } else {
                format!("?{}", query.join("&"))
            };
            call("GET", format!("/access-log{query}"), None)
        }
    })
}

/// The edge's base URL, checked and without a trailing `/`.
fn edge_base(edge: &str) -> Outcome<String> {
    let uri = syncgate::TargetUri::parse(edge)
        .map_err(|_| Failure::usage("--edge must be an absolute http(s) url"))?;
    if !matches!(uri.scheme(), "http" | "https") || edge.contains(['?', '#']) {
        return Err(Failure::usage(
            "--edge must be an http(s) url without query or fragment",
        ));
    }
    Ok(edge.trim_end_matches('/').to_string())
}

/// What the edge answered.
#[derive(Debug)]
struct Answer {
    status: u16,
    content_type: String,
    etag: Option<String>,
    body: String,
}

fn send(
    agent: &ureq::Agent,
    url: &str,
    token: &str,
    if_match: Option<&str>,
    call: &Call,
) -> Outcome<Answer> {
    let bearer = format!("Bearer {token}");
    let unreachable = |e: ureq::Error| Failure::io(format!("cannot reach the edge: {e}"));
    let body = call.body.as_ref().map(Value::to_string);
    macro_rules! with_headers {
        ($builder:expr) => {{
            let mut builder = $builder
                .header("authorization", &bearer)
                .header("accept", "application/json, application/problem+json");
            if let Some(tag) = if_match {
                builder = builder.header("if-match", tag);
            }
            builder
        }};
    }
    macro_rules! with_body {
        ($builder:expr) => {{
            let builder = with_headers!($builder).header("content-type", "application/json");
            match &body {
                Some(body) => builder.send(body.as_str()),
                None => builder.send_empty(),
            }
        }};
    }
    let response = match call.method {
        "GET" => with_headers!(agent.get(url)).call(),
        "DELETE" => with_headers!(agent.delete(url)).call(),
        "PUT" => with_body!(agent.put(url)),
        "PATCH" => with_body!(agent.patch(url)),
        _ => with_body!(agent.post(url)),
    };
    let mut response = response.map_err(unreachable)?;
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header("content-type").unwrap_or_default();
    let etag = header("etag");
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(16 * 1024 * 1024)
        .read_to_string()
        .map_err(|e| Failure::io(format!("cannot read the edge's answer: {e}")))?;
    Ok(Answer {
        status,
        content_type,
        etag,
        body,
    })
}

/// A problem answer as one line: `<code>: <detail>`.
fn problem_line(answer: &Answer) -> String {
    let problem: Value = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
    let text = |name: &str| problem.get(name).and_then(Value::as_str);
    let code = text("code").unwrap_or("error");
    let detail = text("detail")
        .or_else(|| text("title"))
        .unwrap_or("no detail");
    let mut line = format!("{code}: {detail}");
    if let Some(field) = text("field") {
        line.push_str(&format!(" (field {field})"));
    }
    line
}

/// Runs an `admin` subcommand and returns what to print on standard output.
///
/// # Errors
/// Usage failures for bad arguments, `Refused` for an error answer, `Io` when the edge cannot be
/// reached.
pub fn run(args: &AdminArgs) -> Outcome<String> {
    let token = args
        .token
        .as_deref()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            Failure::usage("an admin token is needed: --token or SYNCGATE_ADMIN_TOKEN")
        })?;
    if token.chars().any(|c| c.is_control()) {
        return Err(Failure::usage(
            "the admin token must not contain control characters",
        ));
    }
    let instance = args
        .instance
        .as_deref()
        .ok_or_else(|| Failure::usage("--instance is required"))?;
    if !is_valid_instance_code(instance) {
        return Err(Failure::usage(
            "--instance must match [a-z0-9][a-z0-9-]{1,62}",
        ));
    }
    let call = call_for(instance, &args.action)?;
    let base = edge_base(&args.edge)?;
    let url = format!("{base}/admin/v1/instances/{instance}{}", call.path);

    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(args.timeout)))
        .build();
    let agent = ureq::Agent::new_with_config(config);
    let answer = send(&agent, &url, token, args.if_match.as_deref(), &call)?;

    if let Some(etag) = &answer.etag {
        io::print_error_line(&format!("etag: {etag}"));
    }
    if answer.content_type.starts_with("application/problem+json") {
        return Err(Failure::refused(problem_line(&answer)));
    }
    if !(200..300).contains(&answer.status) {
        return Err(Failure::refused(format!(
            "the edge answered {} without a problem document",
            answer.status
        )));
    }
    if answer.body.is_empty() {
        return Ok(String::new());
    }
    match serde_json::from_str::<Value>(&answer.body) {
        Ok(value) => serde_json::to_string_pretty(&value)
            .map(|text| format!("{text}\n"))
            .map_err(|_| Failure::io("the edge's answer cannot be printed")),
        Err(_) => Err(Failure::io("the edge answered something that is not json")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls() {
        let c = call_for(
            "acme-eu1",
            &AdminAction::RevokeKey {
                kid: "acme-2026-11".into(),
            },
        )
        .unwrap();
        assert_eq!(
            c,
            Call {
                method: "PATCH",
                path: "/keys/acme-2026-11".into(),
                body: Some(json!({"status": "revoked"})),
            }
        );
        let c = call_for(
            "acme-eu1",
            &AdminAction::IssueApiKey {
                scopes: "sync:read, customers:read,".into(),
                fields: Some("email,phone".into()),
                name: None,
            },
        )
        .unwrap();
        assert_eq!(
            c.body,
            Some(json!({"scopes": ["sync:read", "customers:read"], "fields": ["email", "phone"]}))
        );
        assert!(call_for("acme-eu1", &AdminAction::RetireKey { kid: "../x".into() }).is_err());
        assert!(
            call_for(
                "acme-eu1",
                &AdminAction::AddKey {
                    kid: "k".into(),
                    version: 1,
                    secret: Some("whsec_short".into()),
                    status: KeyStatusArg::Active,
                }
            )
            .is_err()
        );
    }

    #[test]
    fn instance_bodies() {
        let body = instance_body(
            "acme-eu1",
            Some("acme"),
            Some("http://127.0.0.1:8788"),
            None,
        )
        .unwrap();
        assert_eq!(
            body,
            json!({"instance": "acme-eu1", "tenant": "acme", "origin": "http://127.0.0.1:8788"})
        );
        assert!(instance_body("acme-eu1", None, None, None).is_err());
        assert!(instance_body("acme-eu1", Some("a b"), None, None).is_err());
    }

    #[test]
    fn edge_urls() {
        assert_eq!(
            edge_base("http://127.0.0.1:8787/").unwrap(),
            "http://127.0.0.1:8787"
        );
        assert!(edge_base("127.0.0.1:8787").is_err());
        assert!(edge_base("ftp://x/").is_err());
    }
}
