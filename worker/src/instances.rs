//! Tenant routing: instance code → tenant policy, kept in Workers KV with sealed secrets.
//!
//! KV is read on every request and replicated globally, which suits configuration that changes
//! rarely; its writes take up to a minute to be seen in other locations, which is why nothing
//! that must be strongly consistent (the replay ledger, API keys, versions) lives here — that is
//! the tenant's Durable Object. A stored policy is the policy JSON of the brief with each key's
//! `secret` replaced by `sealedSecret` (see [`crate::seal`]).

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

    /// The policy of `instance`, secrets unsealed; `None` when the instance is unknown.
    ///
    /// # Errors
    /// When KV fails or a stored policy cannot be opened (a misconfiguration, not user input).
    pub async fn load(&self, instance: &str) -> Result<Option<TenantPolicy>> {
        let Some(text) = self
            .kv
            .get(&kv_key(instance))
            .text()
            .await
            .map_err(|e| Error::RustError(e.to_string()))?
        else {
            return Ok(None);
        };
        let mut stored: Value = serde_json::from_str(&text)?;
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
                let sealed = object
                    .remove("sealedSecret")
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                let secret = self.sealer.open(&sealed, &seal_context(instance, &kid))?;
                let secret = syncgate::Secret::from_bytes(secret)
                    .map_err(|e| Error::RustError(e.to_string()))?;
                object.insert("secret".into(), Value::String(secret.expose_whsec()));
            }
        }
        TenantPolicy::from_json(&stored.to_string())
            .map(Some)
            .map_err(|e| Error::RustError(format!("stored policy for {instance} is invalid: {e}")))
    }

    /// Stores `policy`, sealing its secrets.
    ///
    /// # Errors
    /// When sealing or KV fails.
    pub async fn save(&self, policy: &TenantPolicy) -> Result<()> {
        let mut stored = serde_json::to_value(policy)?;
        if let Some(keys) = stored.get_mut("keys").and_then(Value::as_array_mut) {
            for (key, signing_key) in keys.iter_mut().zip(policy.keys.0.iter()) {
                if let Some(object) = key.as_object_mut() {
                    let sealed = self.sealer.seal(
                        signing_key.secret.expose_bytes(),
                        &seal_context(&policy.instance, &signing_key.kid),
                    )?;
                    object.insert("sealedSecret".into(), Value::String(sealed));
                }
            }
        }
        self.kv
            .put(&kv_key(&policy.instance), stored.to_string())
            .map_err(|e| Error::RustError(e.to_string()))?
            .execute()
            .await
            .map_err(|e| Error::RustError(e.to_string()))
    }

    /// Removes `instance`.
    ///
    /// # Errors
    /// When KV fails.
    pub async fn delete(&self, instance: &str) -> Result<()> {
        self.kv
            .delete(&kv_key(instance))
            .await
            .map_err(|e| Error::RustError(e.to_string()))
    }
}
