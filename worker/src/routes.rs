//! Route table (brief §4). Tenant routes live under `/v1/{instance}`, operator routes under
//! `/admin/v1/instances/{instance}`. A malformed instance code is `unknown_instance` without a
//! KV read; an unmatched route is `not_found`.

use syncgate::{Rejection, is_valid_instance_code};
use worker::{Context, Env, Method, Request, Response, Result};

use crate::http::Reply;
use crate::origin::{OriginAnswer, OriginCall, forward};
use crate::{admin, customers, dashboard, hooks, http, instances, sync, tenant_state};

/// Dispatches one request.
///
/// # Errors
/// Platform failures only; request problems are answers.
pub async fn dispatch(
    mut req: Request,
    env: &Env,
    ctx: &Context,
    request_id: &str,
) -> Result<Reply> {
    let path = req.path();
    let segments: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .map(str::to_string)
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let method = req.method();
    let built = match segments.as_slice() {
        ["v1", instance, rest @ ..] => {
            if !is_valid_instance_code(instance) {
                http::drain_body(&mut req, syncgate::DEFAULT_MAX_BODY_BYTES).await;
                return http::problem(&Rejection::UnknownInstance, request_id).map(Reply::from);
            }
            match (method, rest) {
                (Method::Post, ["sync"]) => {
                    return sync::handle(req, env, ctx, request_id, instance).await;
                }
                (Method::Post, ["hooks", provider]) => {
                    return hooks::handle(req, env, ctx, request_id, instance, provider).await;
                }
                (Method::Get, ["sync", "health"]) => health(env, request_id, instance).await,
                (Method::Get, ["sync", "status" | "logs"]) => {
                    read_state(req, env, request_id, instance).await
                }
                (Method::Get, ["bootstrap"]) => bootstrap(req, env, request_id, instance).await,
                (method, ["customers", rest @ ..]) => {
                    match customers::CustomerRoute::parse(&method, rest) {
                        Some(route) => {
                            customers::handle(req, env, ctx, request_id, instance, route).await
                        }
                        None => http::problem(&Rejection::NotFound, request_id),
                    }
                }
                _ => http::problem(&Rejection::NotFound, request_id),
            }
        }
        ["admin", "v1", "instances", _, "dashboard"] if method == Method::Get => {
            dashboard::page(request_id)
        }
        ["admin", "v1", "instances", instance, rest @ ..] => {
            if !is_valid_instance_code(instance) {
                return http::problem(&Rejection::UnknownInstance, request_id).map(Reply::from);
            }
            admin::dispatch(req, env, request_id, instance, rest).await
        }
        _ => http::problem(&Rejection::NotFound, request_id),
    };
    built.map(Reply::Built)
}

async fn health(env: &Env, request_id: &str, instance: &str) -> Result<Response> {
    let Some(policy) = instances::route(env, instance).await? else {
        return http::problem(&Rejection::UnknownInstance, request_id);
    };
    http::json(
        &serde_json::json!({
            "enabled": policy.enabled,
            "tenant": policy.tenant,
            "schemes": policy.schemes,
            "keyIds": policy.keys.key_ids().collect::<Vec<_>>(),
            "skewSeconds": policy.skew_seconds,
        }),
        200,
    )
}

/// Asks the tenant's object, passing the bearer key along for it to check and the tenant's
/// limits for it to charge.
async fn ask_tenant_state(
    env: &Env,
    policy: &syncgate::TenantPolicy,
    method: Method,
    path_and_query: &str,
    bearer: Option<&str>,
    scope: &str,
    request_id: &str,
) -> Result<Response> {
    let tenant = &policy.tenant;
    let limits = tenant_state::rate_limits_header(policy.rate_limits);
    let mut headers = vec![
        ("x-request-id", request_id),
        ("x-syncgate-scope", scope),
        (tenant_state::RATE_LIMITS_HEADER, limits.as_str()),
    ];
    if let Some(bearer) = bearer {
        headers.push(("x-syncgate-bearer", bearer));
    }
    let req = tenant_state::request(method, path_and_query, &headers, None)?;
    tenant_state::call(env, tenant, req).await
}

async fn read_state(req: Request, env: &Env, request_id: &str, instance: &str) -> Result<Response> {
    let Some(policy) = instances::route(env, instance).await? else {
        return http::problem(&Rejection::UnknownInstance, request_id);
    };
    let url = req.url()?;
    let path = url
        .path()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let query = url.query().map(|q| format!("?{q}")).unwrap_or_default();
    let bearer = http::bearer(req.headers());
    ask_tenant_state(
        env,
        &policy,
        Method::Get,
        &format!("/{path}{query}"),
        bearer.as_deref(),
        "sync:read",
        request_id,
    )
    .await
}

async fn bootstrap(req: Request, env: &Env, request_id: &str, instance: &str) -> Result<Response> {
    let Some(policy) = instances::route(env, instance).await? else {
        return http::problem(&Rejection::UnknownInstance, request_id);
    };
    let bearer = http::bearer(req.headers());
    let mut grant = ask_tenant_state(
        env,
        &policy,
        Method::Post,
        "/authorize",
        bearer.as_deref(),
        "sync:read",
        request_id,
    )
    .await?;
    if grant.status_code() != 200 {
        return Ok(grant);
    }
    let grant: crate::tenant_state::Grant = grant.json().await?;
    let Some(origin) = policy.origin.as_deref() else {
        return http::problem(&Rejection::OriginUnavailable, request_id);
    };
    let call = OriginCall {
        method: Method::Get,
        base: origin,
        path: format!("/origin/v1/{}/bootstrap", policy.tenant),
        query: None,
        body: Vec::new(),
        content_type: None,
        request_id,
        tenant: &policy.tenant,
        instance: &policy.instance,
        key_id: &grant.key_id,
        idempotency_key: None,
        fields: None,
        if_match: None,
        blocked_groups: None,
    };
    match forward(env, &call).await? {
        OriginAnswer::Answered {
            status,
            content_type,
            body,
            ..
        } => {
            let headers = worker::Headers::new();
            headers.set(
                "content-type",
                content_type.as_deref().unwrap_or("application/json"),
            )?;
            if let Some(meter) = &grant.meter {
                meter.apply(&headers)?;
            }
            Ok(Response::from_bytes(body)?
                .with_status(status)
                .with_headers(headers))
        }
        OriginAnswer::Unavailable { reason } => {
            worker::console_log!("bootstrap {request_id}: {reason}");
            http::problem(&Rejection::OriginUnavailable, request_id)
        }
    }
}

#[cfg(test)]
mod tests {
    /// Cargo.lock pins `idna_adapter` to its 1.0 line, the one without Unicode tables (~47 KB of
    /// the worker's wasm, gzip): the worker only parses URLs the runtime hands it, whose hosts
    /// are ASCII already (punycode), and origins the core accepts only as ASCII host names. Such
    /// URLs must still parse, punycode labels included; a Unicode host name is refused.
    #[test]
    fn ascii_and_punycode_hosts_parse_without_unicode_tables() {
        for (url, host) in [
            (
                "https://edge.example.com/v1/acme-eu1/sync?x=1",
                "edge.example.com",
            ),
            (
                "https://xn--bcher-kva.de/v1/acme-eu1/sync",
                "xn--bcher-kva.de",
            ),
            (
                "http://127.0.0.1:8787/v1/acme-eu1/sync/logs?limit=5",
                "127.0.0.1",
            ),
            ("https://EDGE.Example.COM/", "edge.example.com"),
        ] {
            let parsed = worker::Url::parse(url);
            assert_eq!(
                parsed.as_ref().ok().and_then(|u| u.host_str()),
                Some(host),
                "{url}"
            );
        }
        assert!(worker::Url::parse("https://bücher.de/").is_err());
    }
}
