//! Tenant routing: instance code → tenant policy, kept in Workers KV with sealed secrets.
//!
//! KV is read on every request and replicated globally, which suits configuration that changes
//! rarely; its writes take up to a minute to be seen in other locations, which is why nothing
//! that must be strongly consistent (the replay ledger, API keys, versions) lives here — that is
//! the tenant's Durable Object. A stored policy is the policy JSON of the brief with each key's
//! and each provider's `secret` replaced by `sealedSecret` (see [`crate::seal`]) and a `revision` number.
//!
//! KV is only the copy the edge routes from. The authoritative policy lives in the instance's
//! [`crate::instance_config::InstanceConfig`] Durable Object, the one writer that serializes
//! admin changes: KV has no compare-and-set, so two read-modify-write cycles racing through KV
//! alone could silently undo each other (a revocation lost to a concurrent key addition).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use serde_json::Value;
use syncgate::TenantPolicy;
use worker::kv::KvStore;
use worker::{Env, Error, Result};

use crate::seal::Sealer;

/// The KV binding holding instance policies.
pub const BINDING: &str = "INSTANCES";

fn kv_key(instance: &str) -> String {
    format!("instance/{instance}")
}

fn seal_context(instance: &str, kid: &str) -> String {
    format!("syncgate/{instance}/{kid}")
}

/// The slot of a provider's secret. Key ids cannot contain `/`, so it never names a key's slot.
fn provider_seal_context(instance: &str, provider: &str) -> String {
    format!("syncgate/{instance}/providers/{provider}")
}

/// The member of a stored key or provider entry holding its sealed secret.
const SEALED_SECRET: &str = "sealedSecret";

/// How long an isolate serves a policy from memory before reading KV again, in milliseconds.
/// This adds to KV's own propagation delay (up to about a minute) before a change made in
/// another location is obeyed here; a change made through this isolate is obeyed at once.
pub const POLICY_CACHE_TTL_MS: i64 = 5_000;
/// Longest an opened policy is kept, in milliseconds, even while KV still holds the same text:
/// after this its secrets are unsealed again from KV.
pub const POLICY_MAX_AGE_MS: i64 = 10 * 60_000;
/// Most policies an isolate keeps in memory.
pub const POLICY_CACHE_ENTRIES: usize = 256;

/// A policy as this isolate opened it: parsed, secrets unsealed (AES-GCM), key ring built.
struct CachedPolicy {
    policy: Rc<TenantPolicy>,
    /// The stored (sealed) text it was opened from; it carries the policy's revision, which
    /// every admin write raises, so equal text means the same revision of the same policy.
    stored: String,
    /// When it was opened.
    opened_at: i64,
    /// When KV last confirmed it (opened, or read again and found unchanged).
    checked_at: i64,
}

thread_local! {
    /// Opened policies by instance code. A request within [`POLICY_CACHE_TTL_MS`] of the last
    /// KV read uses the entry as it is; after that KV is read again, and when it still holds the
    /// same stored text (same revision) the opened policy is kept — only a changed policy, or
    /// one older than [`POLICY_MAX_AGE_MS`], is parsed and unsealed again. Admin writes through
    /// this isolate drop the entry ([`forget`]). Unknown instances are not cached.
    static POLICY_CACHE: RefCell<HashMap<String, CachedPolicy>> = RefCell::new(HashMap::new());
}

/// The policy the edge routes `instance` with: from this isolate's cache while it is fresh,
/// else from KV (opened again only when the stored policy changed). `None` when the instance is
/// unknown.
///
/// # Errors
/// When KV fails or a stored policy cannot be opened.
pub async fn route(env: &Env, instance: &str) -> Result<Option<Rc<TenantPolicy>>> {
    let now = crate::http::now_millis();
    let cached = POLICY_CACHE.with(|cache| {
        cache
            .borrow()
            .get(instance)
            .filter(|entry| now.saturating_sub(entry.checked_at) < POLICY_CACHE_TTL_MS)
            .map(|entry| Rc::clone(&entry.policy))
    });
    if cached.is_some() {
        return Ok(cached);
    }
    let instances = Instances::from_env(env)?;
    let Some(stored) = instances.load_stored(instance).await? else {
        forget(instance);
        return Ok(None);
    };
    let unchanged = POLICY_CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        let entry = cache.get_mut(instance).filter(|entry| {
            entry.stored == stored && now.saturating_sub(entry.opened_at) < POLICY_MAX_AGE_MS
        })?;
        entry.checked_at = now;
        Some(Rc::clone(&entry.policy))
    });
    if unchanged.is_some() {
        return Ok(unchanged);
    }
    let (policy, _revision) = instances.open(instance, &stored)?;
    let policy = Rc::new(policy);
    POLICY_CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.len() >= POLICY_CACHE_ENTRIES && !cache.contains_key(instance) {
            // Full: the entry KV confirmed longest ago goes.
            let oldest = cache
                .iter()
                .min_by_key(|(_, entry)| entry.checked_at)
                .map(|(name, _)| name.clone());
            if let Some(oldest) = oldest {
                cache.remove(&oldest);
            }
        }
        cache.insert(
            instance.to_string(),
            CachedPolicy {
                policy: Rc::clone(&policy),
                stored,
                opened_at: now,
                checked_at: now,
            },
        );
    });
    Ok(Some(policy))
}

/// Drops `instance` from this isolate's cache (after an admin write through it).
pub fn forget(instance: &str) {
    POLICY_CACHE.with(|cache| {
        cache.borrow_mut().remove(instance);
    });
}

/// The member of a stored policy holding its revision (the admin API's `ETag`).
const REVISION: &str = "revision";

/// Reads and writes sealed tenant policies.
pub struct Instances {
    kv: KvStore,
    sealer: Sealer,
}

impl Instances {
    /// Binds to `INSTANCES` and `SEALING_KEY`.
    ///
    /// # Errors
    /// When a binding or the sealing key is missing.
    pub fn from_env(env: &Env) -> Result<Self> {
        Ok(Self {
            kv: env.kv(BINDING)?,
            sealer: Sealer::from_env(env)?,
        })
    }

    /// The policy of `instance` as the edge routes it (the KV copy), secrets unsealed; `None`
    /// when the instance is unknown.
    ///
    /// # Errors
    /// When KV fails or a stored policy cannot be opened (a misconfiguration, not user input).
    pub async fn load(&self, instance: &str) -> Result<Option<TenantPolicy>> {
        match self.load_stored(instance).await? {
            Some(text) => self.open(instance, &text).map(|(policy, _)| Some(policy)),
            None => Ok(None),
        }
    }

    /// The stored (sealed) form of `instance`'s policy in KV, if any.
    ///
    /// # Errors
    /// When KV fails.
    pub async fn load_stored(&self, instance: &str) -> Result<Option<String>> {
        self.kv
            .get(&kv_key(instance))
            .text()
            .await
            .map_err(|e| Error::RustError(e.to_string()))
    }

    /// Opens a stored policy: its secrets unsealed, and its revision (0 for one stored before
    /// revisions existed).
    ///
    /// # Errors
    /// When the text is not a stored policy or a secret does not open.
    pub fn open(&self, instance: &str, text: &str) -> Result<(TenantPolicy, u64)> {
        let mut stored: Value = serde_json::from_str(text)?;
        let revision = stored
            .as_object_mut()
            .and_then(|object| object.remove(REVISION))
            .and_then(|v| v.as_u64())
            .unwrap_or(0);
        if let Some(keys) = stored.get_mut("keys").and_then(Value::as_array_mut) {
            for key in keys {
                let Some(object) = key.as_object_mut() else {
                    continue;
                };
                let kid = object
                    .get("kid")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let secret = self.open_slot(object, &seal_context(instance, &kid))?;
                let secret = syncgate::Secret::from_bytes(secret)
                    .map_err(|e| Error::RustError(e.to_string()))?;
                object.insert("secret".into(), Value::String(secret.expose_whsec()));
            }
        }
        if let Some(providers) = stored.get_mut("providers").and_then(Value::as_object_mut) {
            for (name, entry) in providers.iter_mut() {
                let Some(object) = entry.as_object_mut() else {
                    continue;
                };
                let secret = self.open_slot(object, &provider_seal_context(instance, name))?;
                let secret = String::from_utf8(secret)
                    .map_err(|_| Error::RustError("a provider secret is not text".into()))?;
                object.insert("secret".into(), Value::String(secret));
            }
        }
        let policy = TenantPolicy::from_json(&stored.to_string()).map_err(|e| {
            Error::RustError(format!("stored policy for {instance} is invalid: {e}"))
        })?;
        Ok((policy, revision))
    }

    /// The stored form of `policy` at `revision`: its secrets sealed, bound to their slots.
    ///
    /// # Errors
    /// When sealing fails (no randomness).
    pub fn seal(&self, policy: &TenantPolicy, revision: u64) -> Result<String> {
        let mut stored = serde_json::to_value(policy)?;
        if let Some(keys) = stored.get_mut("keys").and_then(Value::as_array_mut) {
            for (key, signing_key) in keys.iter_mut().zip(policy.keys.0.iter()) {
                if let Some(object) = key.as_object_mut() {
                    self.seal_slot(
                        object,
                        signing_key.secret.expose_bytes(),
                        &seal_context(&policy.instance, &signing_key.kid),
                    )?;
                }
            }
        }
        if let Some(providers) = stored.get_mut("providers").and_then(Value::as_object_mut) {
            for (provider, entry) in policy.providers.iter() {
                if let Some(object) = providers
                    .get_mut(provider.as_str())
                    .and_then(Value::as_object_mut)
                {
                    self.seal_slot(
                        object,
                        entry.secret.expose_bytes(),
                        &provider_seal_context(&policy.instance, provider.as_str()),
                    )?;
                }
            }
        }
        if let Some(object) = stored.as_object_mut() {
            object.insert(REVISION.into(), Value::from(revision));
        }
        Ok(stored.to_string())
    }

    /// Takes the sealed secret out of a stored entry and opens it for `context`.
    fn open_slot(
        &self,
        object: &mut serde_json::Map<String, Value>,
        context: &str,
    ) -> Result<Vec<u8>> {
        let sealed = object
            .remove(SEALED_SECRET)
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        self.sealer.open(&sealed, context)
    }

    /// Seals `secret` for `context` into a stored entry.
    fn seal_slot(
        &self,
        object: &mut serde_json::Map<String, Value>,
        secret: &[u8],
        context: &str,
    ) -> Result<()> {
        let sealed = self.sealer.seal(secret, context)?;
        object.insert(SEALED_SECRET.into(), Value::String(sealed));
        Ok(())
    }

    /// Writes the routing copy of `instance`: `Some(stored)` puts it, `None` removes it.
    ///
    /// Only the instance's [`crate::instance_config::InstanceConfig`] object calls this, one
    /// write at a time, so copies reach KV in revision order.
    ///
    /// # Errors
    /// When KV fails.
    pub async fn put_stored(&self, instance: &str, stored: Option<&str>) -> Result<()> {
        match stored {
            Some(text) => self
                .kv
                .put(&kv_key(instance), text)
                .map_err(|e| Error::RustError(e.to_string()))?
                .execute()
                .await
                .map_err(|e| Error::RustError(e.to_string())),
            None => self
                .kv
                .delete(&kv_key(instance))
                .await
                .map_err(|e| Error::RustError(e.to_string())),
        }
    }
}
