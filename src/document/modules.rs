//! Module-state recomputation: which modules a tenant has, and which permissions follow.
//!
//! The edge (for previews), the origin (after applying a sync) and the browser (through the npm
//! package) all run [`recompute_modules`] on a features section, and must agree to the byte. So
//! the result depends only on the section's content, never on the order of its lists: modules
//! are keyed and sorted, permissions are sorted sets, and every tie is broken by key.
//!
//! The rules, in order of precedence:
//! 1. a module of a blocked group is disabled (`blocked_group`);
//! 2. an override decides when there is one (`override_on`, `override_off`) — the reason shows
//!    that an override is in force even when it agrees with the plan;
//! 3. otherwise the plan's defaults decide (`plan_default`, `not_in_plan`; an unknown plan has no
//!    defaults);
//! 4. a module enabled by 1–3 stays enabled only if every module it `requires` is enabled, in the
//!    least-fixpoint sense: a chain of requirements must end in modules that need nothing, so a
//!    cycle, a self-requirement or a requirement on an unknown module disables it
//!    (`missing_dependency:X`, where X is the smallest key, in byte order, among its direct
//!    requirements that are not enabled).
//!
//! Validation rejects unknown requirements, cycles and repeated keys, but this module does not
//! rely on it: it is total on any input, handles each module and requirement once, and never
//! panics. Of repeated module entries it keeps the smallest (comparing key, group, then the sets
//! of requires and of permissions), which does not depend on input order either — not even on the
//! order inside those lists. A module's `reason` is
//! `missing_dependency:X` only when its own inputs would enable it: a module that is off anyway
//! (`override_off`, `not_in_plan`, `blocked_group`) keeps that reason.

use core::fmt;
use std::collections::{BTreeMap, BTreeSet};

use serde::{Serialize, Serializer};

use crate::document::payload::{Features, ModuleDef};

/// The recomputed state: `{"modules":[…],"permissions":[…]}`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModuleState {
    /// Every module once, sorted by key.
    pub modules: Vec<ModuleStatus>,
    /// Sorted union of the permissions of enabled modules.
    pub permissions: Vec<String>,
}

/// One module's state: `{"key","group","enabled","reason","permissions"}`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModuleStatus {
    /// Module key.
    pub key: String,
    /// Module group.
    pub group: String,
    /// Whether the module is on.
    pub enabled: bool,
    /// Why it is on or off.
    #[cfg_attr(feature = "ts", ts(type = "ModuleReason"))]
    pub reason: ModuleReason,
    /// The module's permissions, sorted and without repeats (granted only while enabled).
    pub permissions: Vec<String>,
}

/// Why a module is on or off. Serialised as its wire string (`plan_default`,
/// `missing_dependency:crm.core`, …).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ModuleReason {
    /// Enabled by the plan's defaults.
    PlanDefault,
    /// Enabled by an override.
    OverrideOn,
    /// Disabled by an override.
    OverrideOff,
    /// Not in the plan's defaults and not overridden.
    NotInPlan,
    /// Its group is blocked for this tenant.
    BlockedGroup,
    /// Would be enabled, but this direct requirement is not (disabled, unknown, or on a cycle).
    MissingDependency(String),
}

impl ModuleReason {
    /// Whether a module with this reason is enabled.
    #[must_use]
    pub const fn enables(&self) -> bool {
        matches!(self, Self::PlanDefault | Self::OverrideOn)
    }
}

impl fmt::Display for ModuleReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PlanDefault => f.write_str("plan_default"),
            Self::OverrideOn => f.write_str("override_on"),
            Self::OverrideOff => f.write_str("override_off"),
            Self::NotInPlan => f.write_str("not_in_plan"),
            Self::BlockedGroup => f.write_str("blocked_group"),
            Self::MissingDependency(key) => write!(f, "missing_dependency:{key}"),
        }
    }
}

impl Serialize for ModuleReason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Recomputes module state from a features section and the tenant's blocked groups.
///
/// Total on any input, validated or not (see the module docs for the rules).
#[must_use]
pub fn recompute_modules(features: &Features, blocked_groups: &[String]) -> ModuleState {
    // Sets and maps here are filled with `extend` (one insert at a time), never `collect`:
    // collecting sorts first, and every sort instance costs several KB of wasm.
    let mut plan_defaults: BTreeSet<&str> = BTreeSet::new();
    plan_defaults.extend(
        features
            .plan_defaults
            .get(&features.plan)
            .into_iter()
            .flatten()
            .map(String::as_str),
    );
    // One module per key, in key order (a sorted Vec: the key map below is the only map of
    // modules, so the .wasm carries one BTreeMap instance for them, not one per value type).
    let mut modules: Vec<(&str, OwnState<'_>)> = Vec::new();
    modules.extend(
        modules_by_key(&features.modules)
            .into_iter()
            .filter_map(|(key, index)| features.modules.get(index).map(|module| (key, module)))
            .map(|(key, module)| {
                let reason =
                    own_reason(module, &features.overrides, &plan_defaults, blocked_groups);
                (key, OwnState { module, reason })
            }),
    );
    let enabled = enabled_modules(&modules);
    let statuses: Vec<ModuleStatus> = modules
        .iter()
        .map(|(_, own)| status(own.module, final_reason(own, &enabled)))
        .collect();
    let mut permissions: BTreeSet<&str> = BTreeSet::new();
    permissions.extend(
        statuses
            .iter()
            .filter(|status| status.enabled)
            .flat_map(|status| status.permissions.iter().map(String::as_str)),
    );
    let permissions = permissions.into_iter().map(String::from).collect();
    ModuleState {
        modules: statuses,
        permissions,
    }
}

/// A module with the reason its own inputs (group, override, plan) give, before dependencies.
struct OwnState<'a> {
    module: &'a ModuleDef,
    reason: ModuleReason,
}

/// What decides between repeated entries of one key: group, then requires and permissions as sets.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Normal<'a>(&'a str, BTreeSet<&'a str>, BTreeSet<&'a str>);

impl<'a> Normal<'a> {
    fn of(module: &'a ModuleDef) -> Self {
        let set = |list: &'a [String]| {
            let mut set = BTreeSet::new();
            set.extend(list.iter().map(String::as_str));
            set
        };
        Self(
            module.group.as_str(),
            set(&module.requires),
            set(&module.permissions),
        )
    }
}

/// One entry per key; of repeated keys the smallest entry wins, whatever the input order. Entries
/// are compared by key, group and the *sets* of requires and permissions, so reordering a list
/// inside an entry cannot change which one wins (the answer only uses those lists as sets).
/// The answer maps each key to the index of its entry in `modules`.
fn modules_by_key(modules: &[ModuleDef]) -> BTreeMap<&str, usize> {
    // An entry's sets are built only once its key repeats: most payloads repeat no key, and
    // building them costs a set of every module's permissions. `normals` holds them by index.
    let mut by_key: BTreeMap<&str, usize> = BTreeMap::new();
    let mut normals: Vec<Option<Normal<'_>>> = Vec::new();
    for (index, module) in modules.iter().enumerate() {
        let Some(kept) = by_key.get_mut(module.key.as_str()) else {
            by_key.insert(module.key.as_str(), index);
            continue;
        };
        if normals.is_empty() {
            normals.resize_with(modules.len(), || None);
        }
        let candidate = Normal::of(module);
        let smaller = match (modules.get(*kept), normals.get_mut(*kept)) {
            (Some(first), Some(normal)) => {
                candidate < *normal.get_or_insert_with(|| Normal::of(first))
            }
            _ => false,
        };
        if smaller {
            *kept = index;
            if let Some(slot) = normals.get_mut(index) {
                *slot = Some(candidate);
            }
        }
    }
    by_key
}

/// The reason from the module's own inputs (group, override, plan), before dependencies.
fn own_reason(
    module: &ModuleDef,
    overrides: &BTreeMap<String, bool>,
    plan_defaults: &BTreeSet<&str>,
    blocked_groups: &[String],
) -> ModuleReason {
    if blocked_groups.contains(&module.group) {
        return ModuleReason::BlockedGroup;
    }
    match overrides.get(&module.key) {
        Some(true) => ModuleReason::OverrideOn,
        Some(false) => ModuleReason::OverrideOff,
        None if plan_defaults.contains(module.key.as_str()) => ModuleReason::PlanDefault,
        None => ModuleReason::NotInPlan,
    }
}

/// The least set of modules that are enabled on their own and whose requirements are all in the
/// set (Kahn's algorithm: a module joins once its last requirement has joined). Each module and
/// requirement is handled once; modules on a cycle or needing an unknown key never join.
fn enabled_modules<'a>(modules: &[(&'a str, OwnState<'a>)]) -> BTreeSet<&'a str> {
    let mut waiting_on: BTreeMap<&'a str, BTreeSet<&'a str>> = BTreeMap::new();
    for (key, own) in modules {
        if own.reason.enables() {
            let mut requirements = BTreeSet::new();
            requirements.extend(own.module.requires.iter().map(String::as_str));
            waiting_on.insert(*key, requirements);
        }
    }
    let mut dependents: BTreeMap<&'a str, Vec<&'a str>> = BTreeMap::new();
    for (key, requirements) in &waiting_on {
        for requirement in requirements {
            dependents.entry(requirement).or_default().push(key);
        }
    }
    let mut ready: Vec<&'a str> = waiting_on
        .iter()
        .filter(|(_, requirements)| requirements.is_empty())
        .map(|(key, _)| *key)
        .collect();
    let mut enabled = BTreeSet::new();
    while let Some(key) = ready.pop() {
        if !enabled.insert(key) {
            continue;
        }
        for dependent in dependents.get(key).into_iter().flatten() {
            if let Some(requirements) = waiting_on.get_mut(dependent)
                && requirements.remove(key)
                && requirements.is_empty()
            {
                ready.push(dependent);
            }
        }
    }
    enabled
}

/// A module its own inputs enable stays enabled only when all its requirements are; otherwise
/// it names the smallest direct requirement that is not enabled.
fn final_reason(own: &OwnState<'_>, enabled: &BTreeSet<&str>) -> ModuleReason {
    if !own.reason.enables() || enabled.contains(own.module.key.as_str()) {
        return own.reason.clone();
    }
    own.module
        .requires
        .iter()
        .filter(|requirement| !enabled.contains(requirement.as_str()))
        .min()
        .map_or_else(
            || own.reason.clone(),
            |missing| ModuleReason::MissingDependency(missing.clone()),
        )
}

fn status(module: &ModuleDef, reason: ModuleReason) -> ModuleStatus {
    let mut permissions: BTreeSet<&str> = BTreeSet::new();
    permissions.extend(module.permissions.iter().map(String::as_str));
    ModuleStatus {
        key: module.key.clone(),
        group: module.group.clone(),
        enabled: reason.enables(),
        reason,
        permissions: permissions.into_iter().map(String::from).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(key: &str, group: &str, requires: &[&str], permissions: &[&str]) -> ModuleDef {
        ModuleDef {
            key: key.into(),
            group: group.into(),
            requires: requires.iter().map(|s| (*s).into()).collect(),
            permissions: permissions.iter().map(|s| (*s).into()).collect(),
        }
    }

    fn features(
        modules: Vec<ModuleDef>,
        defaults: &[&str],
        overrides: &[(&str, bool)],
    ) -> Features {
        Features {
            plan: "pro".into(),
            modules,
            plan_defaults: [(
                "pro".to_string(),
                defaults.iter().map(|s| (*s).into()).collect(),
            )]
            .into_iter()
            .collect(),
            overrides: overrides.iter().map(|(k, v)| ((*k).into(), *v)).collect(),
        }
    }

    fn reasons(state: &ModuleState) -> Vec<(String, String)> {
        state
            .modules
            .iter()
            .map(|m| (m.key.clone(), m.reason.to_string()))
            .collect()
    }

    #[test]
    fn a_long_chain_resolves_in_one_pass() {
        let n = 2_000;
        let modules: Vec<ModuleDef> = (0..n)
            .map(|i| {
                let requires = if i == 0 {
                    vec![]
                } else {
                    vec![format!("m{:05}", i - 1)]
                };
                ModuleDef {
                    key: format!("m{i:05}"),
                    group: "crm".into(),
                    requires,
                    permissions: vec![],
                }
            })
            .collect();
        let keys: Vec<String> = modules.iter().map(|m| m.key.clone()).collect();
        let mut f = features(modules, &[], &[]);
        f.plan_defaults.insert("pro".into(), keys);
        let state = recompute_modules(&f, &[]);
        assert!(state.modules.iter().all(|m| m.enabled));
    }

    #[test]
    fn cycles_and_self_requirements_are_disabled_not_looped() {
        let f = features(
            vec![
                module("a", "crm", &["b"], &[]),
                module("b", "crm", &["a"], &[]),
                module("s", "crm", &["s"], &[]),
                module("c", "crm", &["a"], &[]),
            ],
            &["a", "b", "s", "c"],
            &[],
        );
        let state = recompute_modules(&f, &[]);
        assert_eq!(
            reasons(&state),
            vec![
                ("a".into(), "missing_dependency:b".into()),
                ("b".into(), "missing_dependency:a".into()),
                ("c".into(), "missing_dependency:a".into()),
                ("s".into(), "missing_dependency:s".into()),
            ]
        );
    }

    #[test]
    fn repeated_keys_keep_the_smallest_entry() {
        let first = module("a", "crm", &[], &["x"]);
        let second = module("a", "billing", &[], &["y"]);
        let one = recompute_modules(
            &features(vec![first.clone(), second.clone()], &["a"], &[]),
            &[],
        );
        let two = recompute_modules(&features(vec![second, first], &["a"], &[]), &[]);
        assert_eq!(one, two);
        assert_eq!(one.modules.len(), 1);
        assert_eq!(one.modules[0].group, "billing");
    }

    #[test]
    fn of_three_repeats_the_smallest_wins_in_every_order() {
        let entries = [
            module("a", "crm", &[], &["y", "x"]),
            module("a", "crm", &[], &["x"]),
            module("a", "crm", &[], &["x", "z"]),
        ];
        let orders = [
            [0, 1, 2],
            [0, 2, 1],
            [1, 0, 2],
            [1, 2, 0],
            [2, 0, 1],
            [2, 1, 0],
        ];
        for order in orders {
            let mut modules: Vec<ModuleDef> = order.iter().map(|i| entries[*i].clone()).collect();
            modules.push(module("b", "crm", &[], &["w"]));
            let state = recompute_modules(&features(modules, &["a", "b"], &[]), &[]);
            assert_eq!(state.modules.len(), 2, "{order:?}");
            assert_eq!(state.modules[0].permissions, vec!["x"], "{order:?}");
            assert_eq!(state.permissions, vec!["w", "x"], "{order:?}");
        }
    }

    #[test]
    fn reasons_serialise_as_wire_strings() {
        let f = features(vec![module("a", "crm", &["zz"], &[])], &["a"], &[]);
        let json = serde_json::to_string(&recompute_modules(&f, &[])).unwrap();
        assert_eq!(
            json,
            r#"{"modules":[{"key":"a","group":"crm","enabled":false,"reason":"missing_dependency:zz","permissions":[]}],"permissions":[]}"#
        );
    }
}
