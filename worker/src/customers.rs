//! The customer records API (brief §4): list, read, create and update a tenant's customers.
//!
//! The edge does everything that needs no record: the tenant's Durable Object authenticates the
//! API key, checks its scope and charges the token buckets in one step (`POST
//! /customers/admit`); the core validates the body (unknown fields, e-mail, E.164 phone, lengths,
//! `custom` bounds) and the key's field ownership; only then is the call forwarded, signed, to
//! the origin, which owns the records, the versions (`If-Match`) and the idempotency table
//! (`Idempotency-Key`); after the answer, one more step records the call in the access log
//! (`POST /customers/record`, off the critical path).
//!
//! Why two steps around a forward made by the worker, when a sync is forwarded by the object
//! itself: a sync needs its reservation held across the forward (commit or release on the
//! origin's answer, in the object that serializes the tenant's ledger). A customer call holds
//! nothing there: the origin serializes records itself (`If-Match`, idempotency keys), so keeping
//! the forward out of the object leaves the tenant's object free during the origin's latency.

use syncgate::customer::{check_field_ownership, is_customer_id, validate_create, validate_patch};
use syncgate::{Rejection, TenantPolicy};
use worker::{Context, Env, Headers, Method, Request, Response, Result};

use crate::http;
use crate::origin::{OriginAnswer, OriginCall, forward};
use crate::sync::post_later;
use crate::tenant_state::{self, AccessEntry, Admission, Grant, Meter};

/// Largest customer body accepted, in bytes.
pub const MAX_CUSTOMER_BODY: usize = 64 * 1024;

/// Which customer route a request is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerRoute {
    /// `GET /v1/{instance}/customers`
    List,
    /// `GET /v1/{instance}/customers/{id}`
    Get(String),
    /// `POST /v1/{instance}/customers`
    Create,
    /// `PATCH /v1/{instance}/customers/{id}`
    Update(String),
}

impl CustomerRoute {
    /// Matches the path after `/v1/{instance}/customers`.
    #[must_use]
    pub fn parse(method: &Method, rest: &[&str]) -> Option<Self> {
        Some(match (method, rest) {
            (Method::Get, []) => Self::List,
            (Method::Post, []) => Self::Create,
            (Method::Get, [id]) => Self::Get((*id).to_string()),
            (Method::Patch, [id]) => Self::Update((*id).to_string()),
            _ => return None,
        })
    }

    fn template(&self) -> &'static str {
        match self {
            Self::List => "GET /v1/{instance}/customers",
            Self::Get(_) => "GET /v1/{instance}/customers/{id}",
            Self::Create => "POST /v1/{instance}/customers",
            Self::Update(_) => "PATCH /v1/{instance}/customers/{id}",
        }
    }

    fn method(&self) -> Method {
        match self {
            Self::List | Self::Get(_) => Method::Get,
            Self::Create => Method::Post,
            Self::Update(_) => Method::Patch,
        }
    }

    fn scope(&self) -> &'static str {
        match self {
            Self::List | Self::Get(_) => "customers:read",
            Self::Create | Self::Update(_) => "customers:write",
        }
    }
}

struct Call<'a> {
    env: &'a Env,
    ctx: &'a Context,
    request_id: &'a str,
    policy: &'a TenantPolicy,
    entry: AccessEntry,
    /// The buckets' state once the key is admitted (sent as `RateLimit` fields).
    meter: Option<Meter>,
}

impl Call<'_> {
    /// Answers and writes the access-log line after the answer has gone out.
    fn finish(mut self, mut response: Response, code: Option<&str>) -> Result<Response> {
        if let Some(meter) = &self.meter {
            meter.apply(response.headers_mut())?;
        }
        self.entry.status = response.status_code();
        self.entry.code = code.map(str::to_string);
        let stub = tenant_state::stub(self.env, &self.policy.tenant)?;
        post_later(self.ctx, stub, "/customers/record", self.entry);
        Ok(response)
    }

    fn reject(self, rejection: &Rejection) -> Result<Response> {
        let response = http::problem(rejection, self.request_id)?;
        self.finish(response, Some(rejection.code()))
    }
}

/// Handles a customer-API request for `instance`.
///
/// # Errors
/// Platform failures only; every request problem is an answer.
pub async fn handle(
    mut req: Request,
    env: &Env,
    ctx: &Context,
    request_id: &str,
    instance: &str,
    route: CustomerRoute,
) -> Result<Response> {
    let Some(policy) = crate::instances::route(env, instance).await? else {
        http::drain_body(&mut req, MAX_CUSTOMER_BODY).await;
        return http::problem(&Rejection::UnknownInstance, request_id);
    };
    let call = Call {
        env,
        ctx,
        request_id,
        policy: &policy,
        entry: AccessEntry {
            request_id: request_id.to_string(),
            at: http::now_millis(),
            source_ip: req.headers().get("cf-connecting-ip")?,
            api_key_id: None,
            method: route.method().to_string(),
            route: route.template().to_string(),
            status: 0,
            code: None,
        },
        meter: None,
    };
    if !policy.enabled {
        http::drain_body(&mut req, MAX_CUSTOMER_BODY).await;
        return call.reject(&Rejection::InstanceDisabled);
    }

    // 1. Who is calling, may they, and is there a token left (one Durable Object step).
    let bearer = http::bearer(req.headers());
    let admission = Admission {
        scope: route.scope().to_string(),
        entry: call.entry.clone(),
    };
    let limits = tenant_state::rate_limits_header(policy.rate_limits);
    let mut headers = vec![
        ("x-request-id", request_id),
        (tenant_state::RATE_LIMITS_HEADER, limits.as_str()),
    ];
    if let Some(bearer) = &bearer {
        headers.push(("x-syncgate-bearer", bearer));
    }
    let admit = tenant_state::request(
        Method::Post,
        "/customers/admit",
        &headers,
        Some(serde_json::to_string(&admission)?.into()),
    )?;
    let mut admitted = tenant_state::call(env, &policy.tenant, admit).await?;
    if admitted.status_code() != 200 {
        // Refused (and logged) by the tenant's object; pass its problem on.
        http::drain_body(&mut req, MAX_CUSTOMER_BODY).await;
        return Ok(admitted);
    }
    let grant: Grant = admitted.json().await?;
    let mut call = call;
    call.entry.api_key_id = Some(grant.key_id.clone());
    call.meter = grant.meter;

    // 2. Validate what can be validated without the record.
    let declared_len = req
        .headers()
        .get("content-length")?
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    if declared_len > MAX_CUSTOMER_BODY {
        return call.reject(&Rejection::PayloadTooLarge {
            limit: MAX_CUSTOMER_BODY,
        });
    }
    let (path, body, content_type) = match &route {
        CustomerRoute::List => (
            format!("/origin/v1/{}/customers", policy.tenant),
            Vec::new(),
            None,
        ),
        CustomerRoute::Get(id) => {
            if !is_customer_id(id) {
                return call.reject(&Rejection::NotFound);
            }
            (
                format!("/origin/v1/{}/customers/{id}", policy.tenant),
                Vec::new(),
                None,
            )
        }
        CustomerRoute::Create | CustomerRoute::Update(_) => {
            let media = req
                .headers()
                .get("content-type")?
                .map(|value| syncgate::media_type(&value));
            let Some(body) = http::read_body_capped(&mut req, MAX_CUSTOMER_BODY).await? else {
                return call.reject(&Rejection::PayloadTooLarge {
                    limit: MAX_CUSTOMER_BODY,
                });
            };
            let accepted = match route {
                CustomerRoute::Create => media.as_deref() == Some("application/json"),
                _ => matches!(
                    media.as_deref(),
                    Some("application/json" | "application/merge-patch+json")
                ),
            };
            if !accepted {
                return call.reject(&Rejection::UnsupportedMediaType);
            }
            let touched = match &route {
                CustomerRoute::Create => validate_create(&body).map(|c| c.touched_fields()),
                _ => validate_patch(&body).map(|p| p.touched_fields()),
            };
            let touched = match touched {
                Ok(touched) => touched,
                Err(rejection) => return call.reject(&rejection),
            };
            if let Some(owned) = &grant.fields
                && let Err(rejection) = check_field_ownership(&touched, owned)
            {
                return call.reject(&rejection);
            }
            let path = match &route {
                CustomerRoute::Update(id) if is_customer_id(id) => {
                    format!("/origin/v1/{}/customers/{id}", policy.tenant)
                }
                CustomerRoute::Update(_) => return call.reject(&Rejection::NotFound),
                _ => format!("/origin/v1/{}/customers", policy.tenant),
            };
            (path, body, media)
        }
    };
    let idempotency_key = match (&route, req.headers().get("idempotency-key")?) {
        (CustomerRoute::Create, Some(key)) => {
            if let Err(rejection) = syncgate::idempotency::check_key(&key) {
                return call.reject(&rejection);
            }
            Some(key)
        }
        _ => None,
    };

    // 3. Forward, signed, and pass the origin's answer on.
    let url = req.url()?;
    let Some(origin) = policy.origin.as_deref() else {
        return call.reject(&Rejection::OriginUnavailable);
    };
    let fields = grant.fields.as_ref().map(|f| f.join(","));
    let forwarded = OriginCall {
        method: route.method(),
        base: origin,
        path,
        query: matches!(route, CustomerRoute::List)
            .then(|| url.query().map(str::to_string))
            .flatten(),
        body,
        content_type,
        request_id,
        tenant: &policy.tenant,
        instance: &policy.instance,
        key_id: &grant.key_id,
        idempotency_key,
        fields,
        if_match: match route {
            CustomerRoute::Update(_) => req.headers().get("if-match")?,
            _ => None,
        },
        blocked_groups: None,
    };
    match forward(env, &forwarded).await? {
        OriginAnswer::Answered {
            status,
            content_type,
            headers,
            body,
        } => {
            let code = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("code").and_then(|c| c.as_str()).map(str::to_string))
                .filter(|_| status >= 400);
            let out = Headers::new();
            out.set(
                "content-type",
                content_type.as_deref().unwrap_or("application/json"),
            )?;
            for (name, value) in headers {
                out.set(&name, &value)?;
            }
            let response = Response::from_bytes(body)?
                .with_status(status)
                .with_headers(out);
            call.finish(response, code.as_deref())
        }
        OriginAnswer::Unavailable { reason } => {
            worker::console_log!("customers {request_id}: {reason}");
            call.reject(&Rejection::OriginUnavailable)
        }
    }
}
