//! Reads a tenant policy through the document reader ([`crate::document::reader`]).
//!
//! The policy is parsed into a [`Node`] tree (refusing repeated keys) and read member by member,
//! so a rejection names the place (`policy: keys[0].status: must be one of …`) and never what
//! was found there. Omitted members take their defaults; `null` is accepted only where the old
//! shape allowed it (`origin` and each provider, both optional), elsewhere it is a wrong type.
//! Ranges, identifiers and uniqueness are left to [`TenantPolicy::validate`], which names the
//! member itself (`skewSeconds`, `keys[1].kid`).

use super::{
    RateLimits, TenantPolicy, default_blocked_groups, default_max_body, default_payload_types,
    default_per_key, default_per_tenant, default_schemes, default_skew, default_supported_groups,
    default_true,
};
use crate::document::payload::PayloadType;
use crate::document::reader::{
    Document, Fields, JsonPath, Node, parse_document, read_bool, read_integer, read_list, read_str,
};
use crate::error::Rejection;
use crate::providers::{ProviderEntry, ProviderSecret, Providers};
use crate::signature::Scheme;
use crate::signature::keys::{KeyRing, KeyStatus, Secret, SigningKey};

/// The members of a policy.
const POLICY_MEMBERS: [&str; 13] = [
    "instance",
    "tenant",
    "enabled",
    "origin",
    "schemes",
    "keys",
    "skewSeconds",
    "maxBodyBytes",
    "payloadTypes",
    "rateLimits",
    "supportedModuleGroups",
    "blockedModuleGroups",
    "providers",
];
const KEY_MEMBERS: [&str; 4] = ["kid", "version", "status", "secret"];
const RATE_LIMIT_MEMBERS: [&str; 2] = ["perKeyPerMinute", "perTenantPerMinute"];
const PROVIDER_MEMBERS: [&str; 5] = ["hubspot", "stripe", "github", "slack", "shopify"];

/// Reads a policy (not yet validated).
///
/// # Errors
/// `invalid_field` with field `policy` and the path in the reason.
pub(super) fn read_policy(json: &str) -> Result<TenantPolicy, Rejection> {
    let root = JsonPath::root(Document::Policy);
    let node = parse_document(json.as_bytes(), &root)?;
    let f = Fields::new(&node, &root, &POLICY_MEMBERS)?;
    Ok(TenantPolicy {
        instance: f.required("instance", read_string)?,
        tenant: f.required("tenant", read_string)?,
        enabled: defaulted(&f, "enabled", default_true, read_bool)?,
        origin: f.optional("origin", read_string)?,
        schemes: defaulted(&f, "schemes", default_schemes, |v, p| {
            read_list(v, p, usize::MAX, read_scheme)
        })?,
        keys: defaulted(&f, "keys", KeyRing::default, |v, p| {
            read_list(v, p, usize::MAX, read_key).map(KeyRing)
        })?,
        skew_seconds: defaulted(&f, "skewSeconds", default_skew, |v, p| {
            read_integer(v, p, 0..=u64::MAX)
        })?,
        max_body_bytes: defaulted(&f, "maxBodyBytes", default_max_body, read_usize)?,
        payload_types: defaulted(&f, "payloadTypes", default_payload_types, |v, p| {
            read_list(v, p, usize::MAX, read_payload_type)
        })?,
        rate_limits: defaulted(&f, "rateLimits", RateLimits::default, read_rate_limits)?,
        supported_module_groups: defaulted(
            &f,
            "supportedModuleGroups",
            default_supported_groups,
            |v, p| read_list(v, p, usize::MAX, read_string),
        )?,
        blocked_module_groups: defaulted(
            &f,
            "blockedModuleGroups",
            default_blocked_groups,
            |v, p| read_list(v, p, usize::MAX, read_string),
        )?,
        providers: defaulted(&f, "providers", Providers::default, read_providers)?,
    })
}

/// Member `name`: `default()` when absent; when present (`null` included) what `read` says.
fn defaulted<'v, 'd, T>(
    f: &Fields<'v, 'd, '_>,
    name: &str,
    default: impl FnOnce() -> T,
    read: impl FnOnce(&'v Node<'d>, &JsonPath) -> Result<T, Rejection>,
) -> Result<T, Rejection> {
    match f.raw(name) {
        Some((value, path)) => read(value, &path),
        None => Ok(default()),
    }
}

fn read_string(value: &Node<'_>, path: &JsonPath) -> Result<String, Rejection> {
    read_str(value, path).map(str::to_owned)
}

fn read_u32(value: &Node<'_>, path: &JsonPath) -> Result<u32, Rejection> {
    let number = read_integer(value, path, 0..=u64::from(u32::MAX))?;
    u32::try_from(number).map_err(|_| path.reject("must be a whole number"))
}

fn read_usize(value: &Node<'_>, path: &JsonPath) -> Result<usize, Rejection> {
    let max = u64::try_from(usize::MAX).unwrap_or(u64::MAX);
    let number = read_integer(value, path, 0..=max)?;
    usize::try_from(number).map_err(|_| path.reject("must be a whole number"))
}

fn read_scheme(value: &Node<'_>, path: &JsonPath) -> Result<Scheme, Rejection> {
    match read_str(value, path)? {
        "rfc9421" => Ok(Scheme::Rfc9421),
        "standard-webhooks" => Ok(Scheme::StandardWebhooks),
        _ => Err(path.reject("must be one of rfc9421, standard-webhooks")),
    }
}

fn read_payload_type(value: &Node<'_>, path: &JsonPath) -> Result<PayloadType, Rejection> {
    PayloadType::parse(read_str(value, path)?)
        .ok_or_else(|| path.reject("must be one of features, branding, smtp, combined"))
}

fn read_status(value: &Node<'_>, path: &JsonPath) -> Result<KeyStatus, Rejection> {
    match read_str(value, path)? {
        "active" => Ok(KeyStatus::Active),
        "retiring" => Ok(KeyStatus::Retiring),
        "revoked" => Ok(KeyStatus::Revoked),
        _ => Err(path.reject("must be one of active, retiring, revoked")),
    }
}

fn read_key(value: &Node<'_>, path: &JsonPath) -> Result<SigningKey, Rejection> {
    let f = Fields::new(value, path, &KEY_MEMBERS)?;
    Ok(SigningKey {
        kid: f.required("kid", read_string)?,
        version: f.required("version", read_u32)?,
        status: f.required("status", read_status)?,
        secret: f.required("secret", |v, p| {
            Secret::from_whsec(read_str(v, p)?).map_err(|reason| p.reject(reason))
        })?,
    })
}

fn read_rate_limits(value: &Node<'_>, path: &JsonPath) -> Result<RateLimits, Rejection> {
    let f = Fields::new(value, path, &RATE_LIMIT_MEMBERS)?;
    Ok(RateLimits {
        per_key_per_minute: defaulted(&f, "perKeyPerMinute", default_per_key, read_u32)?,
        per_tenant_per_minute: defaulted(&f, "perTenantPerMinute", default_per_tenant, read_u32)?,
    })
}

fn read_providers(value: &Node<'_>, path: &JsonPath) -> Result<Providers, Rejection> {
    let f = Fields::new(value, path, &PROVIDER_MEMBERS)?;
    let entry = |name| f.optional(name, read_provider_entry);
    Ok(Providers {
        hubspot: entry("hubspot")?,
        stripe: entry("stripe")?,
        github: entry("github")?,
        slack: entry("slack")?,
        shopify: entry("shopify")?,
    })
}

fn read_provider_entry(value: &Node<'_>, path: &JsonPath) -> Result<ProviderEntry, Rejection> {
    let f = Fields::new(value, path, &["secret"])?;
    Ok(ProviderEntry {
        secret: f.required("secret", |v, p| {
            ProviderSecret::new(read_str(v, p)?).map_err(|reason| p.reject(reason))
        })?,
    })
}
