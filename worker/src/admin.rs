//! The operator API under `/admin/v1/instances/{instance}`, behind the `ADMIN_TOKEN` secret.
//!
//! Instances and signing keys live in KV (sealed, see [`crate::instances`]); API keys live in the
//! tenant's Durable Object (hashes only). No route ever answers a secret, except a generated one
//! exactly once, in the answer to the request that created it.

use serde::Deserialize;
use serde_json::Value;
use syncgate::keys::{KeyStatus, Secret, SigningKey};
use syncgate::{Rejection, TenantPolicy};
use worker::{Env, Method, Request, Response, Result};

use crate::api_keys::{ApiKeyRecord, ApiKeyRequest};
use crate::instances::Instances;
use crate::{http, tenant_state};

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
    let instances = Instances::from_env(env)?;
    let result = match (req.method(), rest) {
        (Method::Put, []) => put_instance(&instances, instance, &req.bytes().await?).await?,
        (Method::Get, []) => get_instance(&instances, env, instance).await?,
        (Method::Delete, []) => match instances.load(instance).await? {
            Some(_) => {
                instances.delete(instance).await?;
                Ok(Response::empty()?.with_status(204))
            }
            None => Err(Rejection::UnknownInstance),
        },
        (Method::Post, ["keys"]) => add_key(&instances, instance, &req.bytes().await?).await?,
        (Method::Patch, ["keys", kid]) => {
            set_key_status(&instances, instance, kid, &req.bytes().await?).await?
        }
        (Method::Post, ["api-keys"]) => {
            create_api_key(&instances, env, instance, request_id, &req.bytes().await?).await?
        }
        (Method::Delete, ["api-keys", id]) => {
            revoke_api_key(&instances, env, instance, request_id, id).await?
        }
        (Method::Get, ["access-log"]) => match instances.load(instance).await? {
            Some(policy) => {
                let query = req
                    .url()?
                    .query()
                    .map(|q| format!("?{q}"))
                    .unwrap_or_default();
                Ok(call_tenant_state(
                    env,
                    &policy.tenant,
                    Method::Get,
                    &format!("/access-log{query}"),
                    None,
                    request_id,
                )
                .await?)
            }
            None => Err(Rejection::UnknownInstance),
        },
        _ => Err(Rejection::NotFound),
    };
    match result {
        Ok(response) => Ok(response),
        Err(rejection) => http::problem(&rejection, request_id),
    }
}

type Answer = std::result::Result<Response, Rejection>;

fn redacted(policy: &TenantPolicy) -> Result<Value> {
    Ok(serde_json::to_value(policy)?)
}

async fn put_instance(instances: &Instances, instance: &str, body: &[u8]) -> Result<Answer> {
    let text = match std::str::from_utf8(body) {
        Ok(text) => text,
        Err(_) => return Ok(Err(invalid("body", "must be UTF-8 JSON"))),
    };
    let policy = match TenantPolicy::from_json(text) {
        Ok(policy) => policy,
        Err(rejection) => return Ok(Err(rejection)),
    };
    if policy.instance != instance {
        return Ok(Err(invalid(
            "instance",
            "must equal the instance in the path",
        )));
    }
    let existed = instances.load(instance).await?.is_some();
    instances.save(&policy).await?;
    Ok(Ok(http::json(
        &redacted(&policy)?,
        if existed { 200 } else { 201 },
    )?))
}

async fn get_instance(instances: &Instances, env: &Env, instance: &str) -> Result<Answer> {
    let Some(policy) = instances.load(instance).await? else {
        return Ok(Err(Rejection::UnknownInstance));
    };
    let mut view = redacted(&policy)?;
    let mut usage =
        call_tenant_state(env, &policy.tenant, Method::Get, "/key-usage", None, "").await?;
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
    Ok(Ok(http::json(&view, 200)?))
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

async fn add_key(instances: &Instances, instance: &str, body: &[u8]) -> Result<Answer> {
    let Some(mut policy) = instances.load(instance).await? else {
        return Ok(Err(Rejection::UnknownInstance));
    };
    let new_key: NewKey = match serde_json::from_slice(body) {
        Ok(key) => key,
        Err(e) => return Ok(Err(invalid("body", syncgate::json::describe_error(&e)))),
    };
    if policy.keys.get(&new_key.kid).is_some() {
        return Ok(Err(invalid("kid", "a key with this id already exists")));
    }
    let (secret, generated) = match &new_key.secret {
        Some(text) => match Secret::from_whsec(text) {
            Ok(secret) => (secret, false),
            Err(reason) => return Ok(Err(invalid("secret", reason))),
        },
        None => {
            let Some(bytes) = http::random_secret() else {
                return Ok(Err(Rejection::OriginUnavailable));
            };
            match Secret::from_bytes(bytes) {
                Ok(secret) => (secret, true),
                Err(reason) => return Ok(Err(invalid("secret", reason))),
            }
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
    if let Err(rejection) = policy.validate() {
        return Ok(Err(rejection));
    }
    instances.save(&policy).await?;
    Ok(Ok(http::json(&answer, 201)?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyStatusChange {
    status: KeyStatus,
}

async fn set_key_status(
    instances: &Instances,
    instance: &str,
    kid: &str,
    body: &[u8],
) -> Result<Answer> {
    let Some(mut policy) = instances.load(instance).await? else {
        return Ok(Err(Rejection::UnknownInstance));
    };
    let change: KeyStatusChange = match serde_json::from_slice(body) {
        Ok(change) => change,
        Err(e) => return Ok(Err(invalid("body", syncgate::json::describe_error(&e)))),
    };
    if change.status == KeyStatus::Active {
        return Ok(Err(invalid("status", "must be retiring or revoked")));
    }
    let Some(key) = policy.keys.0.iter_mut().find(|k| k.kid == kid) else {
        return Ok(Err(Rejection::NotFound));
    };
    if key.status == KeyStatus::Revoked {
        return Ok(Err(invalid("status", "a revoked key stays revoked")));
    }
    key.status = change.status;
    let answer =
        serde_json::json!({ "kid": key.kid, "version": key.version, "status": key.status });
    instances.save(&policy).await?;
    Ok(Ok(http::json(&answer, 200)?))
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
    instances: &Instances,
    env: &Env,
    instance: &str,
    request_id: &str,
    body: &[u8],
) -> Result<Answer> {
    let Some(policy) = instances.load(instance).await? else {
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
        &policy.tenant,
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

async fn revoke_api_key(
    instances: &Instances,
    env: &Env,
    instance: &str,
    request_id: &str,
    id: &str,
) -> Result<Answer> {
    let Some(policy) = instances.load(instance).await? else {
        return Ok(Err(Rejection::UnknownInstance));
    };
    let answer = call_tenant_state(
        env,
        &policy.tenant,
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
