//! Module recomputation (src/document/modules.rs `recompute_modules`).
//!
//! Two input forms (first byte even: a features section as JSON through `Features::parse`; odd:
//! a section built from the bytes over a small key alphabet, so requirements, cycles, repeated
//! keys and overrides meet often). Checked against a naive least-fixpoint model, plus order
//! independence and the shape of the answer.
#![no_main]

use std::collections::{BTreeMap, BTreeSet};

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use syncgate::payload::{Features, ModuleDef};
use syncgate::{ModuleReason, ModuleState, recompute_modules};

const KEYS: [&str; 8] = ["a", "b", "c", "d", "e", "crm.core", "crm.x", ""];
const GROUPS: [&str; 4] = ["crm", "sales", "website", "landing_page"];
const PERMS: [&str; 4] = ["p.read", "p.write", "q", "crm.read"];

fn pick<'a>(u: &mut Unstructured<'_>, from: &[&'a str]) -> arbitrary::Result<&'a str> {
    Ok(*u.choose(from)?)
}

fn build(u: &mut Unstructured<'_>) -> arbitrary::Result<(Features, Vec<String>)> {
    let mut modules = Vec::new();
    for _ in 0..u.int_in_range(0..=12)? {
        let key = if u.ratio(1, 16)? {
            String::arbitrary(u)?
        } else {
            pick(u, &KEYS)?.into()
        };
        let mut requires = Vec::new();
        for _ in 0..u.int_in_range(0..=3)? {
            requires.push(pick(u, &KEYS)?.to_string());
        }
        let mut permissions = Vec::new();
        for _ in 0..u.int_in_range(0..=3)? {
            permissions.push(pick(u, &PERMS)?.to_string());
        }
        modules.push(ModuleDef {
            key,
            group: pick(u, &GROUPS)?.into(),
            requires,
            permissions,
        });
    }
    let mut plan_defaults = BTreeMap::new();
    for plan in ["pro", "free"] {
        if u.arbitrary()? {
            let mut keys = Vec::new();
            for _ in 0..u.int_in_range(0..=8)? {
                keys.push(pick(u, &KEYS)?.to_string());
            }
            plan_defaults.insert(plan.to_string(), keys);
        }
    }
    let mut overrides = BTreeMap::new();
    for _ in 0..u.int_in_range(0..=4)? {
        overrides.insert(pick(u, &KEYS)?.to_string(), u.arbitrary()?);
    }
    let plan = pick(u, &["pro", "free", "none"])?.to_string();
    let mut blocked = Vec::new();
    for g in GROUPS {
        if u.arbitrary()? {
            blocked.push(g.to_string());
        }
    }
    Ok((
        Features {
            plan,
            modules,
            plan_defaults,
            overrides,
        },
        blocked,
    ))
}

/// The rules of src/document/modules.rs written the slow, obvious way.
fn model(features: &Features, blocked: &[String]) -> BTreeMap<String, (bool, ModuleReason)> {
    // Of repeated keys the entry with the smallest (group, requires set, permissions set).
    let normal = |m: &ModuleDef| {
        let set = |l: &[String]| l.iter().cloned().collect::<BTreeSet<String>>();
        (m.group.clone(), set(&m.requires), set(&m.permissions))
    };
    let mut by_key: BTreeMap<&str, &ModuleDef> = BTreeMap::new();
    for m in &features.modules {
        let kept = by_key.entry(&m.key).or_insert(m);
        if normal(m) < normal(kept) {
            *kept = m;
        }
    }
    let defaults: BTreeSet<&String> = features
        .plan_defaults
        .get(&features.plan)
        .into_iter()
        .flatten()
        .collect();
    let own: BTreeMap<&str, ModuleReason> = by_key
        .iter()
        .map(|(k, m)| {
            let reason = if blocked.contains(&m.group) {
                ModuleReason::BlockedGroup
            } else {
                match features.overrides.get(*k) {
                    Some(true) => ModuleReason::OverrideOn,
                    Some(false) => ModuleReason::OverrideOff,
                    None if defaults.contains(&m.key) => ModuleReason::PlanDefault,
                    None => ModuleReason::NotInPlan,
                }
            };
            (*k, reason)
        })
        .collect();
    let mut enabled: BTreeSet<&str> = BTreeSet::new();
    loop {
        let before = enabled.len();
        for (k, m) in &by_key {
            if own[k].enables() && m.requires.iter().all(|r| enabled.contains(r.as_str())) {
                enabled.insert(k);
            }
        }
        if enabled.len() == before {
            break;
        }
    }
    by_key
        .iter()
        .map(|(k, m)| {
            let on = enabled.contains(k);
            let reason = if on || !own[k].enables() {
                own[k].clone()
            } else {
                let missing = m
                    .requires
                    .iter()
                    .filter(|r| !enabled.contains(r.as_str()))
                    .min();
                ModuleReason::MissingDependency(missing.cloned().unwrap_or_default())
            };
            (k.to_string(), (on, reason))
        })
        .collect()
}

fn check(features: &Features, blocked: &[String]) {
    let state: ModuleState = recompute_modules(features, blocked);
    let keys: Vec<&str> = state.modules.iter().map(|m| m.key.as_str()).collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(keys, sorted, "modules are not once each in key order");
    let expected = model(features, blocked);
    assert_eq!(expected.len(), state.modules.len());
    let mut union = BTreeSet::new();
    for m in &state.modules {
        let (on, reason) = &expected[&m.key];
        assert_eq!((m.enabled, &m.reason), (*on, reason), "module {:?}", m.key);
        assert_eq!(m.enabled, m.reason.enables());
        let mut p = m.permissions.clone();
        p.sort_unstable();
        p.dedup();
        assert_eq!(p, m.permissions, "permissions not a sorted set");
        if m.enabled {
            union.extend(m.permissions.iter().cloned());
        }
    }
    assert_eq!(state.permissions, union.into_iter().collect::<Vec<_>>());
    let mut reversed = features.clone();
    reversed.modules.reverse();
    for m in &mut reversed.modules {
        m.requires.reverse();
        m.permissions.reverse();
    }
    for keys in reversed.plan_defaults.values_mut() {
        keys.reverse();
    }
    let mut blocked_rev = blocked.to_vec();
    blocked_rev.reverse();
    assert_eq!(
        recompute_modules(&reversed, &blocked_rev),
        state,
        "order changed the answer"
    );
    serde_json::to_string(&state).unwrap();
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        if let Ok(features) = Features::parse(rest) {
            check(
                &features,
                &["website".to_string(), "landing_page".to_string()],
            );
        }
    } else if let Ok((features, blocked)) = build(&mut Unstructured::new(rest)) {
        check(&features, &blocked);
    }
});
