//! The origin's routes, matched on method and path.
//!
//! Every tenant route lives under `/origin/v1/{tenant}/…` and is reached only through the edge,
//! which signs it (see [`crate::attest`]). Matching is a plain `match` on path segments: few
//! routes, no framework. Sync routes are handled by [`crate::sync`], customer records
//! (`/customers`, `/customers/{id}`) by [`crate::customers`], provider webhooks (`/hooks/{provider}`)
//! by [`crate::hooks`]. A method a path does not serve is
//! `not_found`, like an unknown path; so is a record id that cannot be one.

use syncgate::customer::is_customer_id;
use syncgate::providers::Provider;

/// Longest tenant id accepted in a path, as in the sync payload schema.
pub const MAX_TENANT_CHARS: usize = 64;

/// A matched route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
    /// `GET /healthz` (unsigned).
    Healthz,
    /// `POST /origin/v1/{tenant}/sync`.
    Sync {
        /// The tenant in the path.
        tenant: &'a str,
    },
    /// `GET /origin/v1/{tenant}/sync/state`.
    SyncState {
        /// The tenant in the path.
        tenant: &'a str,
    },
    /// `GET /origin/v1/{tenant}/bootstrap`.
    Bootstrap {
        /// The tenant in the path.
        tenant: &'a str,
    },
    /// `GET /origin/v1/{tenant}/customers` (`?limit=&cursor=`).
    ListCustomers {
        /// The tenant in the path.
        tenant: &'a str,
    },
    /// `POST /origin/v1/{tenant}/customers`.
    CreateCustomer {
        /// The tenant in the path.
        tenant: &'a str,
    },
    /// `GET /origin/v1/{tenant}/customers/{id}`.
    GetCustomer {
        /// The tenant in the path.
        tenant: &'a str,
        /// The record id in the path.
        id: &'a str,
    },
    /// `PATCH /origin/v1/{tenant}/customers/{id}`.
    PatchCustomer {
        /// The tenant in the path.
        tenant: &'a str,
        /// The record id in the path.
        id: &'a str,
    },
    /// `POST /origin/v1/{tenant}/hooks/{provider}`.
    Hook {
        /// The tenant in the path.
        tenant: &'a str,
        /// The provider in the path.
        provider: Provider,
    },
    /// `GET /origin/v1/{tenant}/hooks`.
    ListHooks {
        /// The tenant in the path.
        tenant: &'a str,
    },
    /// `POST /__control` (with `--test-controls` only).
    Control,
    /// `GET /__control/stats` (with `--test-controls` only).
    ControlStats,
    /// Anything else.
    NotFound,
}

impl<'a> Route<'a> {
    /// Matches a method and a path (without the query).
    #[must_use]
    pub fn parse(method: &str, path: &'a str) -> Self {
        let Some(rest) = path.strip_prefix('/') else {
            return Self::NotFound;
        };
        let segments: Vec<&'a str> = rest.split('/').collect();
        match (method, segments.as_slice()) {
            ("GET", ["healthz"]) => Self::Healthz,
            ("POST", ["__control"]) => Self::Control,
            ("GET", ["__control", "stats"]) => Self::ControlStats,
            (method, ["origin", "v1", tenant, tail @ ..]) if is_tenant_id(tenant) => {
                let tenant = *tenant;
                match (method, tail) {
                    ("POST", ["sync"]) => Self::Sync { tenant },
                    ("GET", ["sync", "state"]) => Self::SyncState { tenant },
                    ("GET", ["bootstrap"]) => Self::Bootstrap { tenant },
                    ("GET", ["customers"]) => Self::ListCustomers { tenant },
                    ("POST", ["customers"]) => Self::CreateCustomer { tenant },
                    ("GET", ["customers", id]) if is_record_id(id) => {
                        Self::GetCustomer { tenant, id }
                    }
                    ("PATCH", ["customers", id]) if is_record_id(id) => {
                        Self::PatchCustomer { tenant, id }
                    }
                    ("POST", ["hooks", provider]) => match Provider::parse(provider) {
                        Some(provider) => Self::Hook { tenant, provider },
                        None => Self::NotFound,
                    },
                    ("GET", ["hooks"]) => Self::ListHooks { tenant },
                    _ => Self::NotFound,
                }
            }
            _ => Self::NotFound,
        }
    }

    /// A short stable name, used in logs and in the test counters.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Healthz => "healthz",
            Self::Sync { .. } => "sync",
            Self::SyncState { .. } => "sync_state",
            Self::Bootstrap { .. } => "bootstrap",
            Self::ListCustomers { .. } => "customers_list",
            Self::CreateCustomer { .. } => "customers_create",
            Self::GetCustomer { .. } => "customers_get",
            Self::PatchCustomer { .. } => "customers_patch",
            Self::Hook { .. } => "hook",
            Self::ListHooks { .. } => "hooks_list",
            Self::Control => "control",
            Self::ControlStats => "control_stats",
            Self::NotFound => "unmatched",
        }
    }

    /// The tenant in the path, for tenant routes.
    #[must_use]
    pub const fn tenant(&self) -> Option<&'a str> {
        match self {
            Self::Sync { tenant }
            | Self::SyncState { tenant }
            | Self::Bootstrap { tenant }
            | Self::ListCustomers { tenant }
            | Self::CreateCustomer { tenant }
            | Self::GetCustomer { tenant, .. }
            | Self::PatchCustomer { tenant, .. }
            | Self::Hook { tenant, .. }
            | Self::ListHooks { tenant } => Some(tenant),
            Self::Healthz | Self::Control | Self::ControlStats | Self::NotFound => None,
        }
    }
}

/// A tenant id as the payload schema allows it: 1 to 64 of `a-z A-Z 0-9 - _ .`.
#[must_use]
pub fn is_tenant_id(text: &str) -> bool {
    (1..=MAX_TENANT_CHARS).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && text != "."
        && text != ".."
}

/// A record id as the core allows it (1 to 128 of `a-z A-Z 0-9 - _ .`), but not `.` or `..`.
fn is_record_id(text: &str) -> bool {
    is_customer_id(text) && text != "." && text != ".."
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches() {
        assert_eq!(Route::parse("GET", "/healthz"), Route::Healthz);
        assert_eq!(
            Route::parse("POST", "/origin/v1/acme/sync"),
            Route::Sync { tenant: "acme" }
        );
        assert_eq!(
            Route::parse("GET", "/origin/v1/acme/sync/state"),
            Route::SyncState { tenant: "acme" }
        );
        assert_eq!(
            Route::parse("GET", "/origin/v1/acme/bootstrap"),
            Route::Bootstrap { tenant: "acme" }
        );
        assert_eq!(
            Route::parse("GET", "/origin/v1/acme/customers"),
            Route::ListCustomers { tenant: "acme" }
        );
        assert_eq!(
            Route::parse("POST", "/origin/v1/acme/customers"),
            Route::CreateCustomer { tenant: "acme" }
        );
        assert_eq!(
            Route::parse("GET", "/origin/v1/acme/customers/cus_1"),
            Route::GetCustomer {
                tenant: "acme",
                id: "cus_1"
            }
        );
        assert_eq!(
            Route::parse("POST", "/origin/v1/acme/hooks/stripe"),
            Route::Hook {
                tenant: "acme",
                provider: Provider::Stripe
            }
        );
        assert_eq!(
            Route::parse("GET", "/origin/v1/acme/hooks"),
            Route::ListHooks { tenant: "acme" }
        );
        assert_eq!(
            Route::parse("PATCH", "/origin/v1/acme/customers/cus_1"),
            Route::PatchCustomer {
                tenant: "acme",
                id: "cus_1"
            }
        );
        for (method, path) in [
            ("GET", "/origin/v1/acme/sync"),
            ("PUT", "/origin/v1/acme/customers"),
            ("PATCH", "/origin/v1/acme/customers"),
            ("POST", "/origin/v1/acme/customers/cus_1"),
            ("DELETE", "/origin/v1/acme/customers/cus_1"),
            ("GET", "/origin/v1/acme/customers/"),
            ("GET", "/origin/v1/acme/customers/.."),
            ("GET", "/origin/v1/acme/customers/a%20b"),
            ("GET", "/origin/v1/acme/customers/cus_1/x"),
            ("POST", "/origin/v1/acme/bootstrap"),
            ("POST", "/origin/v1/ac%20me/sync"),
            ("POST", "/origin/v1//sync"),
            ("POST", "/origin/v1/../sync"),
            ("POST", "/origin/v1/acme/sync/"),
            ("POST", "/origin/v1/acme/hooks/gitlab"),
            ("POST", "/origin/v1/acme/hooks"),
            ("GET", "/origin/v1/acme/hooks/github"),
            ("GET", "healthz"),
        ] {
            assert_eq!(
                Route::parse(method, path),
                Route::NotFound,
                "{method} {path}"
            );
        }
    }
}
