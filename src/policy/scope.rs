//! Scope policy: what a tenant lets a signed payload change.
//!
//! A valid signature proves who sent a payload, not that the sender may change everything. The
//! tenant's policy limits the payload types it accepts and the module groups a features section
//! may carry: groups in the blocked list (by default `website` and `landing_page`, which never
//! travel on the sync path) are refused as `blocked_module_group` even when they are also
//! unsupported, and groups outside the supported list as `unsupported_module_group`.

use crate::document::payload::SyncPayload;
use crate::error::Rejection;
use crate::policy::TenantPolicy;

/// Checks a validated payload against the tenant's scope policy. Modules are checked in payload
/// order, so the first offending module is the one reported.
///
/// # Errors
/// `unsupported_payload_type`, `blocked_module_group` or `unsupported_module_group`.
pub fn check_scope(payload: &SyncPayload, policy: &TenantPolicy) -> Result<(), Rejection> {
    let payload_type = payload.payload_type();
    if !policy.payload_types.contains(&payload_type) {
        return Err(Rejection::UnsupportedPayloadType {
            payload_type: payload_type.as_str().to_owned(),
        });
    }
    let modules = payload.features().map(|f| f.modules.as_slice());
    modules
        .unwrap_or_default()
        .iter()
        .try_for_each(|module| check_module_group(&module.group, policy))
}

/// Checks one module group: blocked first, then supported.
///
/// # Errors
/// `blocked_module_group` or `unsupported_module_group`.
pub fn check_module_group(group: &str, policy: &TenantPolicy) -> Result<(), Rejection> {
    let listed = |groups: &[String]| groups.iter().any(|g| g == group);
    if listed(&policy.blocked_module_groups) {
        return Err(Rejection::BlockedModuleGroup {
            group: group.to_owned(),
        });
    }
    if !listed(&policy.supported_module_groups) {
        return Err(Rejection::UnsupportedModuleGroup {
            group: group.to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::payload::PayloadType;

    fn policy(extra: &str) -> TenantPolicy {
        TenantPolicy::from_json(&format!(
            r#"{{"instance":"acme-eu1","tenant":"acme"{extra}}}"#
        ))
        .unwrap()
    }

    fn features_payload(groups: &[&str]) -> SyncPayload {
        let modules: Vec<String> = groups
            .iter()
            .enumerate()
            .map(|(i, g)| format!(r#"{{"key":"m{i}","group":"{g}"}}"#))
            .collect();
        let body = format!(
            r#"{{"type":"features","tenant":"acme","version":1,"features":{{"plan":"p","modules":[{}],"planDefaults":{{"p":[]}}}}}}"#,
            modules.join(",")
        );
        SyncPayload::parse(body.as_bytes()).unwrap()
    }

    #[test]
    fn supported_groups_pass() {
        assert_eq!(
            check_scope(&features_payload(&["crm", "sales"]), &policy("")),
            Ok(())
        );
    }

    #[test]
    fn blocked_wins_over_unsupported_and_first_module_is_reported() {
        let err = check_scope(&features_payload(&["crm", "website", "games"]), &policy(""));
        assert_eq!(
            err,
            Err(Rejection::BlockedModuleGroup {
                group: "website".into()
            })
        );
        let err = check_scope(&features_payload(&["games", "website"]), &policy(""));
        assert_eq!(
            err,
            Err(Rejection::UnsupportedModuleGroup {
                group: "games".into()
            })
        );
    }

    #[test]
    fn payload_type_must_be_accepted() {
        let err = check_scope(
            &features_payload(&["crm"]),
            &policy(r#","payloadTypes":["smtp"]"#),
        );
        assert_eq!(
            err,
            Err(Rejection::UnsupportedPayloadType {
                payload_type: PayloadType::Features.as_str().into()
            })
        );
    }
}
