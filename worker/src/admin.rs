//! The operator API under `/admin/v1/instances/{instance}`, behind the `ADMIN_TOKEN` secret.
//!
//! Policy writes (`PUT`/`DELETE` of the instance, adding a key, changing a key's status) are not
//! done here: they go to the instance's [`InstanceConfig`](crate::instance_config) Durable
//! Object, which applies them one at a time with [`apply`] and then updates the KV copy the edge
//! routes from. Every policy answer carries `ETag: "<revision>"`, and a write with `If-Match`
//! naming another revision is refused with `412 precondition_failed`, so an operator tool can do
//! its own read-modify-write safely too. API keys live in the tenant's Durable Object (hashes
//! only). No route ever answers a secret, except a generated one exactly once, in the answer to
//! the request that created it.

use serde::Deserialize;
use serde_json::Value;
use syncgate::{KeyStatus, Rejection, Secret, SigningKey, TenantPolicy};
use worker::{Env, Method, Request, Response, Result};

use crate::api_keys::{ApiKeyRecord, ApiKeyRequest};
use crate::{http, instance_config, tenant_state};

fn invalid(field: &str, reason: impl Into<String>) -> Rejection {
    Rejection::InvalidField {
        field: field.into(),
        reason: reason.into(),
    }
}

fn is_admin(req: &Request, env: &Env) -> bool {
    let Ok(expected) = env.secret("ADMIN_TOKEN") else {
        return false;
    };
    let expected = expected.to_string();
    http::bearer(req.headers()).is_some_and(|token| {
        !expected.is_empty() && http::constant_time_eq(token.as_bytes(), expected.as_bytes())
    })
}

/// A change to an instance's policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyWrite {
    /// `PUT /admin/v1/instances/{instance}`: create or replace.
    Put,
    /// `DELETE /admin/v1/instances/{instance}`.
    Delete,
    /// `POST /admin/v1/instances/{instance}/keys`.
    AddKey,
    /// `PATCH /admin/v1/instances/{instance}/keys/{kid}`.
    SetKeyStatus(String),
    /// `PATCH /admin/v1/instances/{instance}/providers`: a JSON merge patch of the policy's
    /// `providers` (`{"stripe": {"secret": "…"}, "github": null}` sets Stripe's secret and removes
    /// GitHub).
    SetProviders,
}

impl PolicyWrite {
    /// Matches a method and the path segments after the instance.
    #[must_use]
    pub fn parse(method: &Method, rest: &[&str]) -> Option<Self> {
        Some(match (method, rest) {
            (Method::Put, []) => Self::Put,
            (Method::Delete, []) => Self::Delete,
            (Method::Post, ["keys"]) => Self::AddKey,
            (Method::Patch, ["keys", kid]) => Self::SetKeyStatus((*kid).to_string()),
            (Method::Patch, ["providers"]) => Self::SetProviders,
            _ => return None,
        })
    }
}

/// The result of a policy write: the new policy (`None`: the instance is removed) and the answer.
#[derive(Debug)]
pub struct Applied {
    /// The policy after the write.
    pub policy: Option<TenantPolicy>,
    /// The answer's status.
    pub status: u16,
    /// The answer's JSON body (`None` for `204`).
    pub answer: Option<Value>,
}

/// Applies `write` with `body` to `current`, the instance's policy (`None` when it does not
/// exist). Pure apart from drawing a generated secret; the caller stores the result.
///
/// # Errors
/// The rejection to answer (`unknown_instance`, `invalid_field`, `not_found`, …); nothing is
/// stored then.
pub fn apply(
    write: &PolicyWrite,
    instance: &str,
    current: Option<TenantPolicy>,
    body: &[u8],
) -> std::result::Result<Applied, Rejection> {
    match write {
        PolicyWrite::Put => put_instance(instance, current.as_ref(), body),
        PolicyWrite::Delete => match current {
            Some(_) => Ok(Applied {
                policy: None,
                status: 204,
                answer: None,
            }),
            None => Err(Rejection::UnknownInstance),
        },
        PolicyWrite::AddKey => add_key(current.ok_or(Rejection::UnknownInstance)?, body),
        PolicyWrite::SetKeyStatus(kid) => {
            set_key_status(current.ok_or(Rejection::UnknownInstance)?, kid, body)
        }
        PolicyWrite::SetProviders => {
            set_providers(current.ok_or(Rejection::UnknownInstance)?, body)
        }
    }
}

/// The admin view of a policy: the policy with its secrets left out.
///
/// # Errors
/// When the policy cannot be serialised.
pub fn redacted(policy: &TenantPolicy) -> serde_json::Result<Value> {
    serde_json::to_value(policy)
}

/// Dispatches an admin request for `instance`; `rest` is the path after it.
///
/// # Errors
/// Platform failures only.
pub async fn dispatch(
    mut req: Request,
    env: &Env,
    request_id: &str,
    instance: &str,
    rest: &[&str],
) -> Result<Response> {
    if !is_admin(&req, env) {
        return http::problem(&Rejection::Unauthorized, request_id);
    }
    let method = req.method();
    if PolicyWrite::parse(&method, rest).is_some() {
        let path = format!("/{}", rest.join("/"));
        let if_match = req.headers().get("if-match")?;
        let body = req.bytes().await?;
        let answer = instance_config::call(
            env,
            instance,
            &instance_config::Call {
                method,
                path: &path,
                body,
                if_match: if_match.as_deref(),
                request_id,
            },
        )
        .await;
        // Whatever the outcome, this isolate reads the policy afresh next time.
        crate::instances::forget(instance);
        return answer;
    }
    let result = match (method, rest) {
        (Method::Get, []) => get_instance(env, instance, request_id).await?,
        (Method::Post, ["api-keys"]) => {
            create_api_key(env, instance, request_id, &req.bytes().await?).await?
        }
        (Method::Delete, ["api-keys", id]) => revoke_api_key(env, instance, request_id, id).await?,
        (Method::Get, ["access-log"]) => {
            tenant_read(env, instance, request_id, &req, "/access-log").await?
        }
        // The tenant's sync status, log and hourly counts for the operator (the dashboard's
        // data; the tenant routes of the same names need an API key).
        (Method::Get, ["sync", view @ ("status" | "logs" | "hourly")]) => {
            tenant_read(env, instance, request_id, &req, &format!("/admin/{view}")).await?
        }
        _ => Err(Rejection::NotFound),
    };
    match result {
        Ok(response) => Ok(response),
        Err(rejection) => http::problem(&rejection, request_id),
    }
}

type Answer = std::result::Result<Response, Rejection>;

/// A read of `instance`'s tenant object at `path`, with the request's query string.
async fn tenant_read(
    env: &Env,
    instance: &str,
    request_id: &str,
    req: &Request,
    path: &str,
) -> Result<Answer> {
    let Some(tenant) = tenant_of(env, instance, request_id).await? else {
        return Ok(Err(Rejection::UnknownInstance));
    };
    let query = req
        .url()?
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    let path = format!("{path}{query}");
    Ok(Ok(call_tenant_state(
        env,
        &tenant,
        Method::Get,
        &path,
        None,
        request_id,
    )
    .await?))
}

/// The tenant of `instance`, from its authoritative policy.
async fn tenant_of(env: &Env, instance: &str, request_id: &str) -> Result<Option<String>> {
    Ok(instance_config::view(env, instance, request_id)
        .await?
        .and_then(|(view, _)| view.get("tenant")?.as_str().map(str::to_string)))
}

/// Creates or replaces the policy. A key the current policy has revoked stays revoked: a
/// replacement naming it with another status is refused, so a write prepared before a
/// revocation (or racing it) can never bring the key back.
fn put_instance(
    instance: &str,
    current: Option<&TenantPolicy>,
    body: &[u8],
) -> std::result::Result<Applied, Rejection> {
    let text = std::str::from_utf8(body).map_err(|_| invalid("body", "must be UTF-8 JSON"))?;
    let policy = TenantPolicy::from_json(text)?;
    if policy.instance != instance {
        return Err(invalid("instance", "must equal the instance in the path"));
    }
    let unrevoked = policy.keys.0.iter().any(|key| {
        key.status != KeyStatus::Revoked
            && current
                .and_then(|c| c.keys.get(&key.kid))
                .is_some_and(|old| old.status == KeyStatus::Revoked)
    });
    if unrevoked {
        return Err(invalid("keys", "a revoked key stays revoked"));
    }
    let existed = current.is_some();
    let answer = redacted(&policy).map_err(|_| invalid("body", "cannot be represented"))?;
    Ok(Applied {
        policy: Some(policy),
        status: if existed { 200 } else { 201 },
        answer: Some(answer),
    })
}

async fn get_instance(env: &Env, instance: &str, request_id: &str) -> Result<Answer> {
    let Some((mut view, revision)) = instance_config::view(env, instance, request_id).await? else {
        return Ok(Err(Rejection::UnknownInstance));
    };
    let tenant = view
        .get("tenant")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let mut usage = call_tenant_state(env, &tenant, Method::Get, "/key-usage", None, "").await?;
    let usage: Vec<Value> = usage.json().await.unwrap_or_default();
    if let Some(keys) = view.get_mut("keys").and_then(Value::as_array_mut) {
        for key in keys {
            let kid = key.get("kid").cloned().unwrap_or(Value::Null);
            let used = usage.iter().find(|u| u.get("kid") == Some(&kid));
            if let Some(object) = key.as_object_mut() {
                let last_used = used
                    .and_then(|u| u.get("lastUsedAt"))
                    .and_then(Value::as_i64)
                    .map(http::rfc3339);
                object.insert(
                    "lastUsedAt".into(),
                    last_used.map_or(Value::Null, Value::String),
                );
                object.insert(
                    "uses".into(),
                    used.and_then(|u| u.get("uses"))
                        .cloned()
                        .unwrap_or(Value::from(0)),
                );
            }
        }
    }
    let mut response = http::json(&view, 200)?;
    response.headers_mut().set("etag", &etag(revision))?;
    Ok(Ok(response))
}

/// The entity tag of a policy revision.
#[must_use]
pub fn etag(revision: u64) -> String {
    format!("\"{revision}\"")
}

/// Whether an `If-Match` value admits the policy at `revision` (`exists`: there is a policy).
/// A list of strong tags or `*` (RFC 9110 §13.1.1); weak tags never match.
#[must_use]
pub fn if_match_admits(if_match: &str, revision: u64, exists: bool) -> bool {
    let current = etag(revision);
    if_match.split(',').map(str::trim).any(|tag| {
        if tag == "*" {
            exists
        } else {
            exists && tag == current
        }
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewKey {
    kid: String,
    version: u32,
    #[serde(default = "active")]
    status: KeyStatus,
    #[serde(default)]
    secret: Option<String>,
}

fn active() -> KeyStatus {
    KeyStatus::Active
}

fn add_key(mut policy: TenantPolicy, body: &[u8]) -> std::result::Result<Applied, Rejection> {
    let new_key: NewKey = serde_json::from_slice(body)
        .map_err(|e| invalid("body", syncgate::error::describe_error(&e)))?;
    if policy.keys.get(&new_key.kid).is_some() {
        return Err(invalid("kid", "a key with this id already exists"));
    }
    let (secret, generated) = match &new_key.secret {
        Some(text) => (
            Secret::from_whsec(text).map_err(|reason| invalid("secret", reason))?,
            false,
        ),
        None => {
            let bytes = http::random_secret().ok_or(Rejection::OriginUnavailable)?;
            (
                Secret::from_bytes(bytes).map_err(|reason| invalid("secret", reason))?,
                true,
            )
        }
    };
    let mut answer = serde_json::json!({
        "kid": new_key.kid, "version": new_key.version, "status": new_key.status,
    });
    if generated && let Some(object) = answer.as_object_mut() {
        object.insert("secret".into(), Value::String(secret.expose_whsec()));
    }
    policy.keys.0.push(SigningKey {
        kid: new_key.kid,
        version: new_key.version,
        status: new_key.status,
        secret,
    });
    policy.validate()?;
    Ok(Applied {
        policy: Some(policy),
        status: 201,
        answer: Some(answer),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyStatusChange {
    status: KeyStatus,
}

fn set_key_status(
    mut policy: TenantPolicy,
    kid: &str,
    body: &[u8],
) -> std::result::Result<Applied, Rejection> {
    let change: KeyStatusChange = serde_json::from_slice(body)
        .map_err(|e| invalid("body", syncgate::error::describe_error(&e)))?;
    if change.status == KeyStatus::Active {
        return Err(invalid("status", "must be retiring or revoked"));
    }
    let key = policy
        .keys
        .0
        .iter_mut()
        .find(|k| k.kid == kid)
        .ok_or(Rejection::NotFound)?;
    if key.status == KeyStatus::Revoked {
        return Err(invalid("status", "a revoked key stays revoked"));
    }
    key.status = change.status;
    let answer =
        serde_json::json!({ "kid": key.kid, "version": key.version, "status": key.status });
    Ok(Applied {
        policy: Some(policy),
        status: 200,
        answer: Some(answer),
    })
}

/// Applies a merge patch to the policy's providers: a member with an entry sets that provider's
/// secret (plaintext here, sealed when stored), a `null` member removes the provider. Answers
/// the providers as the admin API shows them (which are configured, never a secret).
fn set_providers(mut policy: TenantPolicy, body: &[u8]) -> std::result::Result<Applied, Rejection> {
    use syncgate::providers::{Provider, ProviderEntry};
    let patch: serde_json::Map<String, Value> = serde_json::from_slice(body)
        .map_err(|e| invalid("body", syncgate::error::describe_error(&e)))?;
    for (name, value) in patch {
        let provider = Provider::parse(&name).ok_or_else(|| {
            invalid(
                "providers",
                "names hubspot, stripe, github, slack or shopify",
            )
        })?;
        let entry = match value {
            Value::Null => None,
            value => Some(serde_json::from_value::<ProviderEntry>(value).map_err(|e| {
                invalid(
                    &format!("providers.{name}"),
                    syncgate::error::describe_error(&e),
                )
            })?),
        };
        policy.providers.set(provider, entry);
    }
    policy.validate()?;
    let answer = serde_json::to_value(&policy.providers)
        .map_err(|_| invalid("body", "cannot be represented"))?;
    Ok(Applied {
        policy: Some(policy),
        status: 200,
        answer: Some(answer),
    })
}

async fn call_tenant_state(
    env: &Env,
    tenant: &str,
    method: Method,
    path: &str,
    body: Option<String>,
    request_id: &str,
) -> Result<Response> {
    let req = tenant_state::request(
        method,
        path,
        &[("x-request-id", request_id)],
        body.map(Into::into),
    )?;
    tenant_state::call(env, tenant, req).await
}

async fn create_api_key(
    env: &Env,
    instance: &str,
    request_id: &str,
    body: &[u8],
) -> Result<Answer> {
    let Some(tenant) = tenant_of(env, instance, request_id).await? else {
        return Ok(Err(Rejection::UnknownInstance));
    };
    let request = match ApiKeyRequest::parse(body) {
        Ok(request) => request,
        Err(rejection) => return Ok(Err(rejection)),
    };
    let Some(issued) = crate::api_keys::issue() else {
        return Ok(Err(Rejection::OriginUnavailable));
    };
    let record = ApiKeyRecord {
        id: issued.id.clone(),
        hash: issued.hash,
        scopes: request.scopes.clone(),
        fields: request.fields.clone(),
        name: request.name.clone(),
        created_at: http::now_millis(),
    };
    let stored = call_tenant_state(
        env,
        &tenant,
        Method::Post,
        "/api-keys",
        Some(serde_json::to_string(&record)?),
        request_id,
    )
    .await?;
    if stored.status_code() != 201 {
        return Ok(Err(Rejection::OriginUnavailable));
    }
    Ok(Ok(http::json(
        &serde_json::json!({
            "id": issued.id, "key": issued.key, "scopes": request.scopes,
            "fields": request.fields, "name": request.name,
        }),
        201,
    )?))
}

async fn revoke_api_key(env: &Env, instance: &str, request_id: &str, id: &str) -> Result<Answer> {
    let Some(tenant) = tenant_of(env, instance, request_id).await? else {
        return Ok(Err(Rejection::UnknownInstance));
    };
    let answer = call_tenant_state(
        env,
        &tenant,
        Method::Delete,
        &format!("/api-keys/{id}"),
        None,
        request_id,
    )
    .await?;
    Ok(match answer.status_code() {
        204 => Ok(Response::empty()?.with_status(204)),
        _ => Err(Rejection::NotFound),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn policy(status: &str) -> String {
        format!(
            r#"{{"instance":"acme-eu1","tenant":"acme","keys":[{{"kid":"k1","version":1,"status":"{status}","secret":"{SECRET}"}}]}}"#
        )
    }

    #[test]
    fn a_replacement_cannot_bring_a_revoked_key_back() {
        let revoked = TenantPolicy::from_json(&policy("revoked")).unwrap();
        let err = apply(
            &PolicyWrite::Put,
            "acme-eu1",
            Some(revoked.clone()),
            policy("active").as_bytes(),
        )
        .unwrap_err();
        assert_eq!(err.code(), "invalid_field");
        assert_eq!(err.field(), Some("keys"));
        let kept = apply(
            &PolicyWrite::Put,
            "acme-eu1",
            Some(revoked),
            policy("revoked").as_bytes(),
        )
        .unwrap();
        assert_eq!(kept.status, 200);
    }

    #[test]
    fn key_status_changes_never_reactivate() {
        let revoked = TenantPolicy::from_json(&policy("revoked")).unwrap();
        let write = PolicyWrite::SetKeyStatus("k1".into());
        assert!(
            apply(
                &write,
                "acme-eu1",
                Some(revoked),
                br#"{"status":"retiring"}"#
            )
            .is_err()
        );
        let active = TenantPolicy::from_json(&policy("active")).unwrap();
        assert!(apply(&write, "acme-eu1", Some(active), br#"{"status":"active"}"#).is_err());
    }

    #[test]
    fn providers_are_patched_and_never_answered() {
        let current = TenantPolicy::from_json(&policy("active")).unwrap();
        let applied = apply(
            &PolicyWrite::SetProviders,
            "acme-eu1",
            Some(current),
            br#"{"github":{"secret":"It's a Secret to Everybody"},"slack":{"secret":"8f742231b10e8888abcd99yyyzzz85a5"}}"#,
        )
        .unwrap();
        let answer = applied.answer.unwrap().to_string();
        assert_eq!(answer, r#"{"github":{},"slack":{}}"#);
        let policy = applied.policy.unwrap();
        assert!(!redacted(&policy).unwrap().to_string().contains("Everybody"));
        let applied = apply(
            &PolicyWrite::SetProviders,
            "acme-eu1",
            Some(policy.clone()),
            br#"{"github":null}"#,
        )
        .unwrap();
        assert_eq!(applied.answer.unwrap().to_string(), r#"{"slack":{}}"#);
        for bad in [
            &br#"{"gitlab":{"secret":"0123456789abcdef0"}}"#[..],
            br#"{"github":{"secret":"short"}}"#,
            br#"{"github":{"secret":"0123456789abcdef0","extra":1}}"#,
            b"[]",
        ] {
            let err = apply(
                &PolicyWrite::SetProviders,
                "acme-eu1",
                Some(policy.clone()),
                bad,
            )
            .unwrap_err();
            assert_eq!(err.code(), "invalid_field");
            assert!(!err.to_string().contains("0123456789abcdef0"));
        }
    }

    #[test]
    fn if_match_takes_strong_tags_and_star() {
        assert!(if_match_admits("\"3\"", 3, true));
        assert!(if_match_admits("\"1\", \"3\"", 3, true));
        assert!(!if_match_admits("\"2\"", 3, true));
        assert!(!if_match_admits("W/\"3\"", 3, true));
        assert!(if_match_admits("*", 3, true));
        assert!(!if_match_admits("*", 3, false));
        assert!(!if_match_admits("\"3\"", 3, false));
    }
}
