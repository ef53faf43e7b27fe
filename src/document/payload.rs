//! The sync payload: the signed configuration document a trusted platform pushes into a tenant.
//!
//! A body is parsed once, from its raw bytes, into a [`SyncPayload`] with typed sections
//! ([`Features`], [`Branding`], [`Smtp`]). Reading checks the shape and every value's syntax
//! (types, unknown fields at every level, lengths, list sizes, identifiers, https URLs, colours,
//! ports, host names, e-mail addresses); validation then checks what spans values: sections
//! present exactly when the type asks, unique module keys, `requires`, `planDefaults` and
//! `overrides` naming known modules, no dependency cycles, and `plan` naming a plan of
//! `planDefaults`. Every failure is `invalid_payload` with the exact path and the rule broken,
//! never the value found (an SMTP password must not come back in an error).
//!
//! A payload serialises back to the same camelCase shape (the verdict carries it, the origin
//! stores it). The SMTP password travels only there: [`Smtp`]'s `Debug` hides it, and
//! [`SyncPayload::redacted`] / [`Smtp::redacted`] serialise everything else for reads and logs.

use core::fmt;
use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::grammar;
use super::reader::{
    self, Document, Fields, JsonPath, KeyRule, MAX_SAFE_INTEGER, Node, TextRule, check_matching,
    read_bool, read_integer, read_list, read_map, read_matching, read_str,
};
use crate::error::{Rejection, fragment};
use crate::policy::identifier::{self, IDENTIFIER_RULE, is_identifier, is_valid_identifier};

/// Highest accepted `version` (2^53 − 1, exact in JavaScript). The lowest is 1.
pub const MAX_VERSION: u64 = MAX_SAFE_INTEGER;
/// Longest tenant id, module key, module group or plan name.
pub const MAX_NAME_CHARS: usize = 64;
/// Longest permission.
pub const MAX_PERMISSION_CHARS: usize = 128;
/// Most modules in a features section.
pub const MAX_MODULES: usize = 256;
/// Most entries in one module's `requires`.
pub const MAX_REQUIRES: usize = 32;
/// Most entries in one module's `permissions`.
pub const MAX_MODULE_PERMISSIONS: usize = 64;
/// Most plans in `planDefaults`; each plan lists at most [`MAX_MODULES`] modules.
pub const MAX_PLANS: usize = 32;
/// Longest branding title.
pub const MAX_TITLE_CHARS: usize = 120;
/// Longest URL.
pub const MAX_URL_CHARS: usize = 2048;
/// Longest footer text.
pub const MAX_FOOTER_TEXT_CHARS: usize = 500;
/// Most footer links.
pub const MAX_FOOTER_LINKS: usize = 20;
/// Longest footer link label.
pub const MAX_LINK_LABEL_CHARS: usize = 80;
/// Longest SMTP user name or password.
pub const MAX_SMTP_CREDENTIAL_CHARS: usize = 256;
/// Longest SMTP sender display name.
pub const MAX_FROM_NAME_CHARS: usize = 120;

const NAME_RULE: &str = "must be 1 to 64 characters of a-z, A-Z, 0-9, '-', '_' or '.'";
const PERMISSION_RULE: &str = "must be 1 to 128 characters of a-z, A-Z, 0-9, '-', '_', '.' or ':'";
const MODULE_KEYS: KeyRule = KeyRule {
    accepts: is_name,
    reason: "keys must be module keys (1 to 64 characters of a-z, A-Z, 0-9, '-', '_' or '.')",
};
const PLAN_NAMES: KeyRule = KeyRule {
    accepts: is_name,
    reason: "keys must be plan names (1 to 64 characters of a-z, A-Z, 0-9, '-', '_' or '.')",
};
const TITLE: TextRule = TextRule::single_line(MAX_TITLE_CHARS);
const FOOTER_TEXT: TextRule = TextRule::single_line(MAX_FOOTER_TEXT_CHARS);
const LINK_LABEL: TextRule = TextRule::single_line(MAX_LINK_LABEL_CHARS);
const SMTP_CREDENTIAL: TextRule = TextRule::single_line(MAX_SMTP_CREDENTIAL_CHARS);
const FROM_NAME: TextRule = TextRule::single_line(MAX_FROM_NAME_CHARS);

/// A sync payload's type.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PayloadType {
    /// Feature modules, permissions, plan defaults and overrides.
    Features,
    /// Title, logos, colours and footer.
    Branding,
    /// Outbound mail server settings.
    Smtp,
    /// Two or more of the above in one request.
    Combined,
}

impl PayloadType {
    /// Every payload type, in wire order.
    pub const ALL: [Self; 4] = [Self::Features, Self::Branding, Self::Smtp, Self::Combined];

    /// The wire name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Features => "features",
            Self::Branding => "branding",
            Self::Smtp => "smtp",
            Self::Combined => "combined",
        }
    }

    /// Parses a wire name.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

/// A parsed and validated sync payload (brief §3 "Sync payload").
///
/// Only [`SyncPayload::parse`] (or [`SyncPayload::from_value`], or `Deserialize`) makes one, so a
/// value of this type always satisfies every rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncPayload {
    payload_type: PayloadType,
    tenant: String,
    version: u64,
    features: Option<Features>,
    branding: Option<Branding>,
    smtp: Option<Smtp>,
}

/// A configuration section a payload can carry. The edge keeps an applied version per section,
/// so a payload must be newer than every section it carries.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Section {
    /// Feature modules, permissions, plan defaults and overrides.
    Features,
    /// Title, logos, colours and footer.
    Branding,
    /// Outbound mail server settings.
    Smtp,
}

impl Section {
    /// Every section, in wire order.
    pub const ALL: [Self; 3] = [Self::Features, Self::Branding, Self::Smtp];

    /// The wire name, which is also the payload member carrying the section.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Features => "features",
            Self::Branding => "branding",
            Self::Smtp => "smtp",
        }
    }

    /// The one section a single-section payload type carries; `None` for `combined`.
    #[must_use]
    pub const fn of_type(payload_type: PayloadType) -> Option<Self> {
        match payload_type {
            PayloadType::Features => Some(Self::Features),
            PayloadType::Branding => Some(Self::Branding),
            PayloadType::Smtp => Some(Self::Smtp),
            PayloadType::Combined => None,
        }
    }
}

/// The features section: module registry, plan defaults and overrides.
///
/// [`Features::parse`] checks shape and syntax only; [`SyncPayload::parse`] also checks the
/// cross-references. [`crate::document::modules::recompute_modules`] accepts either.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Features {
    /// The tenant's plan; a key of `plan_defaults`.
    pub plan: String,
    /// The module registry.
    pub modules: Vec<ModuleDef>,
    /// Per plan, the modules it enables by default.
    pub plan_defaults: BTreeMap<String, Vec<String>>,
    /// Per module, an explicit on/off that wins over the plan. Optional on the wire.
    pub overrides: BTreeMap<String, bool>,
}

/// One module of the registry.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ModuleDef {
    /// Unique key, e.g. `crm.customers`.
    pub key: String,
    /// Module group, checked against the tenant's supported and blocked groups.
    pub group: String,
    /// Keys of modules this one needs. Optional on the wire.
    pub requires: Vec<String>,
    /// Permissions this module grants while enabled. Optional on the wire.
    pub permissions: Vec<String>,
}

/// The branding section. Only `title` is required.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Branding {
    /// Workspace title.
    pub title: String,
    /// Logo (https URL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logo_url: Option<String>,
    /// Sidebar logo (https URL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sidebar_logo_url: Option<String>,
    /// Favicon (https URL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub favicon_url: Option<String>,
    /// Primary colour, `#rgb` or `#rrggbb`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_color: Option<String>,
    /// Footer text and links.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub footer: Option<Footer>,
}

/// The branding footer.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Footer {
    /// One line of footer text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Footer links. Optional on the wire.
    pub links: Vec<FooterLink>,
}

/// A footer link.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FooterLink {
    /// Link text.
    pub label: String,
    /// Target (https URL).
    pub url: String,
}

/// The SMTP section. `username` and `password` come together or not at all (a relay without
/// authentication). `Debug` never shows the password; see [`Smtp::redacted`] for reads and logs.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Smtp {
    /// Mail server: a host name or an IPv4 address.
    pub host: String,
    /// Port, 1 to 65535.
    pub port: u16,
    /// Transport security.
    pub encryption: SmtpEncryption,
    /// User name for SMTP AUTH.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Password for SMTP AUTH. Serialised only in the payload itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Sender address.
    pub from_email: String,
    /// Sender display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_name: Option<String>,
}

/// SMTP transport security.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpEncryption {
    /// Plain SMTP.
    None,
    /// Upgrade with STARTTLS.
    Starttls,
    /// Implicit TLS.
    Tls,
}

impl SmtpEncryption {
    /// Every mode, in wire order.
    pub const ALL: [Self; 3] = [Self::None, Self::Starttls, Self::Tls];

    /// The wire name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Starttls => "starttls",
            Self::Tls => "tls",
        }
    }
}

/// An SMTP section without its password, for reads, logs and health answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RedactedSmtp<'a> {
    /// Mail server.
    pub host: &'a str,
    /// Port.
    pub port: u16,
    /// Transport security.
    pub encryption: SmtpEncryption,
    /// User name for SMTP AUTH.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<&'a str>,
    /// Whether a password is configured.
    pub password_set: bool,
    /// Sender address.
    pub from_email: &'a str,
    /// Sender display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_name: Option<&'a str>,
}

/// A payload that serialises with its SMTP password left out (see [`SyncPayload::redacted`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedactedPayload<'a>(&'a SyncPayload);

impl SyncPayload {
    /// Parses and validates a sync body.
    ///
    /// # Errors
    /// `invalid_payload` with the path of the first problem and the rule it breaks.
    pub fn parse(body: &[u8]) -> Result<Self, Rejection> {
        Self::from_node(&reader::parse_document(body, &root())?)
    }

    /// Reads and validates an already parsed JSON document.
    ///
    /// # Errors
    /// `invalid_payload` with the path of the first problem and the rule it breaks.
    pub fn from_value(value: &Value) -> Result<Self, Rejection> {
        Self::from_node(&Node::from_value(value, &root())?)
    }

    fn from_node(node: &Node<'_>) -> Result<Self, Rejection> {
        Self::read_validated(node, PermissionMode::Keep)
    }

    /// [`SyncPayload::parse`] with every module's `permissions` checked item by item and then
    /// left out (each list empty): the same rules, in the same order, with the same rejections,
    /// without a copy of every permission. For the checks of a verdict that holds no payload
    /// ([`crate::admit_without_payload`]: the edge, the npm package's node:crypto path), which
    /// read the type, tenant, version, sections and module groups but never a permission; the
    /// payload it answers goes no further than those checks.
    ///
    /// # Errors
    /// As [`SyncPayload::parse`].
    pub(crate) fn parse_without_permissions(body: &[u8]) -> Result<Self, Rejection> {
        Self::read_validated(
            &reader::parse_document(body, &root())?,
            PermissionMode::Check,
        )
    }

    fn read_validated(node: &Node<'_>, permissions: PermissionMode) -> Result<Self, Rejection> {
        let payload = read_payload(node, &root(), permissions)?;
        payload.validate()?;
        Ok(payload)
    }

    /// The payload type.
    #[must_use]
    pub const fn payload_type(&self) -> PayloadType {
        self.payload_type
    }

    /// The tenant the payload is for.
    #[must_use]
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// The payload version (1 to [`MAX_VERSION`]).
    #[must_use]
    pub const fn version(&self) -> u64 {
        self.version
    }

    /// The sections carried, in wire order.
    #[must_use]
    pub fn sections(&self) -> Vec<Section> {
        Section::ALL
            .into_iter()
            .filter(|section| self.carries(*section))
            .collect()
    }

    /// The wire names of the sections carried, in wire order (what a verdict lists).
    #[must_use]
    pub(crate) fn section_names(&self) -> Vec<&'static str> {
        let mut names = Vec::with_capacity(Section::ALL.len());
        names.extend(
            Section::ALL
                .into_iter()
                .filter(|section| self.carries(*section))
                .map(Section::as_str),
        );
        names
    }

    /// The features section, when carried.
    #[must_use]
    pub const fn features(&self) -> Option<&Features> {
        self.features.as_ref()
    }

    /// The branding section, when carried.
    #[must_use]
    pub const fn branding(&self) -> Option<&Branding> {
        self.branding.as_ref()
    }

    /// The SMTP section, when carried. It holds the password: see [`Smtp::redacted`].
    #[must_use]
    pub const fn smtp(&self) -> Option<&Smtp> {
        self.smtp.as_ref()
    }

    /// A view that serialises like the payload but without the SMTP password.
    #[must_use]
    pub const fn redacted(&self) -> RedactedPayload<'_> {
        RedactedPayload(self)
    }

    const fn carries(&self, section: Section) -> bool {
        match section {
            Section::Features => self.features.is_some(),
            Section::Branding => self.branding.is_some(),
            Section::Smtp => self.smtp.is_some(),
        }
    }

    fn validate(&self) -> Result<(), Rejection> {
        let root = root();
        self.check_sections(&root)?;
        match &self.features {
            Some(features) => features.check_references(&root.field("features")),
            None => Ok(()),
        }
    }

    /// Sections present exactly when the type asks: one for a single-section type, two or more
    /// for `combined`.
    fn check_sections(&self, root: &JsonPath) -> Result<(), Rejection> {
        let Some(wanted) = Section::of_type(self.payload_type) else {
            return if self.sections().len() >= 2 {
                Ok(())
            } else {
                Err(root.reject(
                    "a combined payload must carry at least two of features, branding and smtp",
                ))
            };
        };
        let type_name = self.payload_type.as_str();
        if !self.carries(wanted) {
            return Err(root
                .field(wanted.as_str())
                .reject(format!("is required in a {type_name} payload")));
        }
        match Section::ALL
            .into_iter()
            .find(|section| *section != wanted && self.carries(*section))
        {
            Some(extra) => Err(root
                .field(extra.as_str())
                .reject(format!("is not allowed in a {type_name} payload"))),
            None => Ok(()),
        }
    }

    fn shape<S: Serialize>(&self, smtp: Option<S>) -> PayloadShape<'_, S> {
        PayloadShape {
            payload_type: self.payload_type,
            tenant: &self.tenant,
            version: self.version,
            features: self.features.as_ref(),
            branding: self.branding.as_ref(),
            smtp,
        }
    }
}

/// The wire shape shared by [`SyncPayload`] and [`RedactedPayload`].
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PayloadShape<'a, S> {
    #[serde(rename = "type")]
    payload_type: PayloadType,
    tenant: &'a str,
    version: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    features: Option<&'a Features>,
    #[serde(skip_serializing_if = "Option::is_none")]
    branding: Option<&'a Branding>,
    #[serde(skip_serializing_if = "Option::is_none")]
    smtp: Option<S>,
}

impl Serialize for SyncPayload {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.shape(self.smtp.as_ref()).serialize(serializer)
    }
}

impl Serialize for RedactedPayload<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0
            .shape(self.0.smtp.as_ref().map(Smtp::redacted))
            .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for SyncPayload {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        reader::deserialize_with(deserializer, Self::from_node)
    }
}

impl Features {
    /// Reads a features section on its own (as `recomputeModules` receives it). Checks shape and
    /// syntax, not cross-references: unknown `requires`, cycles and unknown plans are left to
    /// [`crate::document::modules::recompute_modules`], which copes with them. Paths start at the section
    /// (`modules[2].group`).
    ///
    /// # Errors
    /// `invalid_payload` with the path of the first problem.
    pub fn parse(body: &[u8]) -> Result<Self, Rejection> {
        read_features(
            &reader::parse_document(body, &root())?,
            &root(),
            PermissionMode::Keep,
        )
    }

    /// Like [`Features::parse`], from an already parsed JSON value.
    ///
    /// # Errors
    /// `invalid_payload` with the path of the first problem.
    pub fn from_value(value: &Value) -> Result<Self, Rejection> {
        read_features(
            &Node::from_value(value, &root())?,
            &root(),
            PermissionMode::Keep,
        )
    }

    /// Unique module keys, `requires`, `planDefaults` and `overrides` naming known modules, no
    /// dependency cycle, and `plan` naming a plan of `planDefaults`.
    fn check_references(&self, path: &JsonPath) -> Result<(), Rejection> {
        let modules_path = path.field("modules");
        let positions = self.module_positions(&modules_path)?;
        let requirements = self.requirement_indices(&modules_path, &positions)?;
        self.check_acyclic(&modules_path, &requirements)?;
        let defaults_path = path.field("planDefaults");
        for (plan, keys) in &self.plan_defaults {
            check_known_modules(keys, &defaults_path.field(plan), &positions, "enables")?;
        }
        if !self.plan_defaults.contains_key(&self.plan) {
            return Err(path.field("plan").reject("must be a plan of planDefaults"));
        }
        let overrides_path = path.field("overrides");
        match self
            .overrides
            .keys()
            .find(|key| !positions.contains_key(key.as_str()))
        {
            Some(key) => Err(overrides_path
                .field(key)
                .reject(format!("names unknown module {}", fragment(key)))),
            None => Ok(()),
        }
    }

    /// Each module key with its index in `modules`.
    ///
    /// # Errors
    /// At the second occurrence of a repeated key.
    fn module_positions(
        &self,
        modules_path: &JsonPath,
    ) -> Result<BTreeMap<&str, usize>, Rejection> {
        let mut positions = BTreeMap::new();
        for (i, module) in self.modules.iter().enumerate() {
            if positions.insert(module.key.as_str(), i).is_some() {
                return Err(modules_path
                    .index(i)
                    .field("key")
                    .reject(format!("repeats module key {}", fragment(&module.key))));
            }
        }
        Ok(positions)
    }

    /// Each module's `requires` as indices into `modules`, in listed order.
    ///
    /// # Errors
    /// At the first requirement, module by module, that names no module.
    fn requirement_indices(
        &self,
        modules_path: &JsonPath,
        positions: &BTreeMap<&str, usize>,
    ) -> Result<Vec<Vec<usize>>, Rejection> {
        let mut requirements = Vec::with_capacity(self.modules.len());
        for (i, module) in self.modules.iter().enumerate() {
            let mut indices = Vec::with_capacity(module.requires.len());
            for (j, key) in module.requires.iter().enumerate() {
                let Some(index) = positions.get(key.as_str()) else {
                    let module_path = modules_path.index(i);
                    let requires_path = module_path.field("requires");
                    return Err(requires_path
                        .index(j)
                        .reject(format!("requires unknown module {}", fragment(key))));
                };
                indices.push(*index);
            }
            requirements.push(indices);
        }
        Ok(requirements)
    }

    /// Depth-first search from each module in payload order, following `requires` in listed
    /// order. The first edge that closes a cycle is reported at its module's `requires`, with the
    /// cycle spelled out (`a -> b -> a`). Works on module indices (keys are unique and known by
    /// now); depth is bounded by [`MAX_MODULES`].
    fn check_acyclic(
        &self,
        modules_path: &JsonPath,
        requirements: &[Vec<usize>],
    ) -> Result<(), Rejection> {
        let mut done = vec![false; self.modules.len()];
        let mut trail = Vec::new();
        for start in 0..self.modules.len() {
            let Some(cycle) = find_cycle(start, requirements, &mut trail, &mut done) else {
                continue;
            };
            let keys: Vec<&str> = cycle
                .iter()
                .filter_map(|i| self.modules.get(*i))
                .map(|module| module.key.as_str())
                .collect();
            let reason = format!("dependency cycle {}", fragment(&keys.join(" -> ")));
            return Err(match cycle.iter().rev().nth(1) {
                Some(closing) => modules_path
                    .index(*closing)
                    .field("requires")
                    .reject(reason),
                None => modules_path.reject(reason),
            });
        }
        Ok(())
    }
}

/// The first cycle reachable from module `index`, as the modules along it with the first
/// repeated last. `trail` is the path walked so far (empty again when no cycle is found); `done`
/// marks modules already known to reach no cycle.
fn find_cycle(
    index: usize,
    requirements: &[Vec<usize>],
    trail: &mut Vec<usize>,
    done: &mut [bool],
) -> Option<Vec<usize>> {
    if done.get(index).copied().unwrap_or(false) {
        return None;
    }
    if let Some(start) = trail.iter().position(|i| *i == index) {
        let mut cycle = trail.get(start..).unwrap_or_default().to_vec();
        cycle.push(index);
        return Some(cycle);
    }
    trail.push(index);
    for required in requirements
        .get(index)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        if let Some(cycle) = find_cycle(*required, requirements, trail, done) {
            return Some(cycle);
        }
    }
    trail.pop();
    if let Some(flag) = done.get_mut(index) {
        *flag = true;
    }
    None
}

/// Every key names a module; the first that does not is reported at its index.
fn check_known_modules(
    keys: &[String],
    path: &JsonPath,
    positions: &BTreeMap<&str, usize>,
    verb: &str,
) -> Result<(), Rejection> {
    match keys
        .iter()
        .enumerate()
        .find(|(_, key)| !positions.contains_key(key.as_str()))
    {
        Some((i, key)) => Err(path
            .index(i)
            .reject(format!("{verb} unknown module {}", fragment(key)))),
        None => Ok(()),
    }
}

impl Smtp {
    /// Everything but the password, for reads, logs and health answers.
    #[must_use]
    pub fn redacted(&self) -> RedactedSmtp<'_> {
        RedactedSmtp {
            host: &self.host,
            port: self.port,
            encryption: self.encryption,
            username: self.username.as_deref(),
            password_set: self.password.is_some(),
            from_email: &self.from_email,
            from_name: self.from_name.as_deref(),
        }
    }
}

impl fmt::Debug for Smtp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Smtp")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("encryption", &self.encryption)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("from_email", &self.from_email)
            .field("from_name", &self.from_name)
            .finish()
    }
}

fn root() -> JsonPath<'static> {
    JsonPath::root(Document::SyncPayload)
}

/// Module keys, groups and plan names.
fn is_name(text: &str) -> bool {
    is_identifier(text, MAX_NAME_CHARS)
}

/// Permissions: like names, and may also use `:` (`customers:write`).
fn is_permission(text: &str) -> bool {
    identifier::is_permission(text, MAX_PERMISSION_CHARS)
}

fn read_name(value: &Node<'_>, path: &JsonPath) -> Result<String, Rejection> {
    read_matching(value, path, is_name, NAME_RULE)
}

/// Tenant ids follow the policy's identifier grammar, so a payload names a tenant exactly as
/// its policy does.
fn read_tenant(value: &Node<'_>, path: &JsonPath) -> Result<String, Rejection> {
    read_matching(value, path, is_valid_identifier, IDENTIFIER_RULE)
}

fn read_permission(value: &Node<'_>, path: &JsonPath) -> Result<String, Rejection> {
    check_permission(value, path).map(str::to_owned)
}

fn check_permission<'v>(value: &'v Node<'_>, path: &JsonPath) -> Result<&'v str, Rejection> {
    check_matching(value, path, is_permission, PERMISSION_RULE)
}

fn read_names(
    value: &Node<'_>,
    path: &JsonPath,
    max_items: usize,
) -> Result<Vec<String>, Rejection> {
    read_list(value, path, max_items, read_name)
}

/// Whether a reading keeps each module's permissions or only checks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PermissionMode {
    Keep,
    Check,
}

fn read_payload(
    value: &Node<'_>,
    path: &JsonPath,
    permissions: PermissionMode,
) -> Result<SyncPayload, Rejection> {
    let fields = Fields::new(
        value,
        path,
        &["type", "tenant", "version", "features", "branding", "smtp"],
    )?;
    Ok(SyncPayload {
        payload_type: fields.required("type", read_payload_type)?,
        tenant: fields.required("tenant", read_tenant)?,
        version: fields.required("version", |v, p| read_integer(v, p, 1..=MAX_VERSION))?,
        features: fields.optional("features", |v, p| read_features(v, p, permissions))?,
        branding: fields.optional("branding", read_branding)?,
        smtp: fields.optional("smtp", read_smtp)?,
    })
}

fn read_payload_type(value: &Node<'_>, path: &JsonPath) -> Result<PayloadType, Rejection> {
    PayloadType::parse(read_str(value, path)?)
        .ok_or_else(|| path.reject("must be one of features, branding, smtp, combined"))
}

fn read_features(
    value: &Node<'_>,
    path: &JsonPath,
    permissions: PermissionMode,
) -> Result<Features, Rejection> {
    let fields = Fields::new(
        value,
        path,
        &["plan", "modules", "planDefaults", "overrides"],
    )?;
    Ok(Features {
        plan: fields.required("plan", read_name)?,
        modules: fields.required("modules", |v, p| {
            read_list(v, p, MAX_MODULES, |v, p| read_module(v, p, permissions))
        })?,
        plan_defaults: fields.required("planDefaults", |v, p| {
            read_map(v, p, PLAN_NAMES, MAX_PLANS, |v, p| {
                read_names(v, p, MAX_MODULES)
            })
        })?,
        overrides: fields
            .optional("overrides", |v, p| {
                read_map(v, p, MODULE_KEYS, MAX_MODULES, read_bool)
            })?
            .unwrap_or_default(),
    })
}

fn read_module(
    value: &Node<'_>,
    path: &JsonPath,
    permissions: PermissionMode,
) -> Result<ModuleDef, Rejection> {
    let fields = Fields::new(value, path, &["key", "group", "requires", "permissions"])?;
    Ok(ModuleDef {
        key: fields.required("key", read_name)?,
        group: fields.required("group", read_name)?,
        requires: fields
            .optional("requires", |v, p| read_names(v, p, MAX_REQUIRES))?
            .unwrap_or_default(),
        permissions: match permissions {
            PermissionMode::Keep => fields
                .optional("permissions", |v, p| {
                    read_list(v, p, MAX_MODULE_PERMISSIONS, read_permission)
                })?
                .unwrap_or_default(),
            // A list of `()` allocates nothing: each item is checked where it would be read.
            PermissionMode::Check => {
                fields.optional("permissions", |v, p| {
                    read_list(v, p, MAX_MODULE_PERMISSIONS, |v, p| {
                        check_permission(v, p).map(drop)
                    })
                })?;
                Vec::new()
            }
        },
    })
}

fn read_branding(value: &Node<'_>, path: &JsonPath) -> Result<Branding, Rejection> {
    let fields = Fields::new(
        value,
        path,
        &[
            "title",
            "logoUrl",
            "sidebarLogoUrl",
            "faviconUrl",
            "primaryColor",
            "footer",
        ],
    )?;
    Ok(Branding {
        title: fields.required("title", |v, p| TITLE.read(v, p))?,
        logo_url: fields.optional("logoUrl", read_https_url)?,
        sidebar_logo_url: fields.optional("sidebarLogoUrl", read_https_url)?,
        favicon_url: fields.optional("faviconUrl", read_https_url)?,
        primary_color: fields.optional("primaryColor", read_colour)?,
        footer: fields.optional("footer", read_footer)?,
    })
}

fn read_footer(value: &Node<'_>, path: &JsonPath) -> Result<Footer, Rejection> {
    let fields = Fields::new(value, path, &["text", "links"])?;
    Ok(Footer {
        text: fields.optional("text", |v, p| FOOTER_TEXT.read(v, p))?,
        links: fields
            .optional("links", |v, p| {
                read_list(v, p, MAX_FOOTER_LINKS, read_footer_link)
            })?
            .unwrap_or_default(),
    })
}

fn read_footer_link(value: &Node<'_>, path: &JsonPath) -> Result<FooterLink, Rejection> {
    let fields = Fields::new(value, path, &["label", "url"])?;
    Ok(FooterLink {
        label: fields.required("label", |v, p| LINK_LABEL.read(v, p))?,
        url: fields.required("url", read_https_url)?,
    })
}

fn read_https_url(value: &Node<'_>, path: &JsonPath) -> Result<String, Rejection> {
    let url = read_str(value, path)?;
    if url.len() > MAX_URL_CHARS {
        return Err(path.reject(format!("must be at most {MAX_URL_CHARS} characters")));
    }
    grammar::check_https_url(url).map_err(|reason| path.reject(reason))?;
    Ok(url.to_owned())
}

fn read_colour(value: &Node<'_>, path: &JsonPath) -> Result<String, Rejection> {
    read_matching(
        value,
        path,
        grammar::is_hex_colour,
        "must be a colour #rgb or #rrggbb",
    )
}

fn read_smtp(value: &Node<'_>, path: &JsonPath) -> Result<Smtp, Rejection> {
    let fields = Fields::new(
        value,
        path,
        &[
            "host",
            "port",
            "encryption",
            "username",
            "password",
            "fromEmail",
            "fromName",
        ],
    )?;
    let smtp = Smtp {
        host: fields.required("host", read_host)?,
        port: fields.required("port", read_port)?,
        encryption: fields.required("encryption", read_encryption)?,
        username: fields.optional("username", |v, p| SMTP_CREDENTIAL.read(v, p))?,
        password: fields.optional("password", |v, p| SMTP_CREDENTIAL.read(v, p))?,
        from_email: fields.required("fromEmail", reader::read_email)?,
        from_name: fields.optional("fromName", |v, p| FROM_NAME.read(v, p))?,
    };
    match (&smtp.username, &smtp.password) {
        (Some(_), None) => Err(path.field("password").reject("is required with a username")),
        (None, Some(_)) => Err(path.field("username").reject("is required with a password")),
        _ => Ok(smtp),
    }
}

fn read_host(value: &Node<'_>, path: &JsonPath) -> Result<String, Rejection> {
    read_matching(
        value,
        path,
        grammar::is_host,
        "must be a host name or an IPv4 address",
    )
}

fn read_port(value: &Node<'_>, path: &JsonPath) -> Result<u16, Rejection> {
    let port = read_integer(value, path, 1..=u64::from(u16::MAX))?;
    u16::try_from(port).map_err(|_| path.reject("must be a whole number from 1 to 65535"))
}

fn read_encryption(value: &Node<'_>, path: &JsonPath) -> Result<SmtpEncryption, Rejection> {
    let name = read_str(value, path)?;
    SmtpEncryption::ALL
        .into_iter()
        .find(|mode| mode.as_str() == name)
        .ok_or_else(|| path.reject("must be one of none, starttls, tls"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMBINED: &str = r##"{
        "type": "combined", "tenant": "acme", "version": 17,
        "features": {
            "plan": "pro",
            "modules": [
                {"key": "crm.core", "group": "crm", "permissions": ["customers.read"]},
                {"key": "crm.customers", "group": "crm", "requires": ["crm.core"],
                 "permissions": ["customers.read", "customers.write"]}
            ],
            "planDefaults": {"pro": ["crm.core", "crm.customers"]},
            "overrides": {"crm.customers": false}
        },
        "branding": {"title": "Acme Travel", "logoUrl": "https://cdn.acme.test/logo.svg",
                     "primaryColor": "#1f6feb",
                     "footer": {"text": "Acme", "links": [{"label": "Privacy",
                                "url": "https://acme.test/privacy"}]}},
        "smtp": {"host": "smtp.example.com", "port": 587, "encryption": "starttls",
                 "username": "mailer", "password": "hunter2-secret",
                 "fromEmail": "no-reply@acme.test", "fromName": "Acme"}
    }"##;

    fn parse(json: &str) -> Result<SyncPayload, Rejection> {
        SyncPayload::parse(json.as_bytes())
    }

    fn path_of(json: &str) -> String {
        match parse(json).unwrap_err() {
            Rejection::InvalidPayload { path, .. } => path,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn combined_payload_parses_and_lists_its_sections() {
        let payload = parse(COMBINED).unwrap();
        assert_eq!(payload.payload_type(), PayloadType::Combined);
        assert_eq!(payload.tenant(), "acme");
        assert_eq!(payload.version(), 17);
        assert_eq!(
            payload.sections(),
            vec![Section::Features, Section::Branding, Section::Smtp]
        );
        assert_eq!(payload.smtp().unwrap().port, 587);
    }

    #[test]
    fn serialises_back_to_an_equal_payload() {
        let payload = parse(COMBINED).unwrap();
        let text = serde_json::to_string(&payload).unwrap();
        assert!(text.contains(r#""type":"combined""#));
        assert!(text.contains(r#""planDefaults""#));
        assert!(text.contains(r#""fromEmail""#));
        assert_eq!(parse(&text).unwrap(), payload);
    }

    #[test]
    fn redacted_views_and_debug_hide_the_password() {
        let payload = parse(COMBINED).unwrap();
        assert!(
            serde_json::to_string(&payload)
                .unwrap()
                .contains("hunter2-secret")
        );
        let redacted = serde_json::to_string(&payload.redacted()).unwrap();
        assert!(!redacted.contains("hunter2-secret"), "{redacted}");
        assert!(redacted.contains(r#""passwordSet":true"#));
        assert!(!format!("{payload:?}").contains("hunter2-secret"));
    }

    #[test]
    fn paths_point_at_the_offending_value() {
        let bad_port = COMBINED.replace("587", "0");
        assert_eq!(path_of(&bad_port), "smtp.port");
        let bad_group =
            COMBINED.replace(r#""group": "crm", "requires""#, r#""group": 7, "requires""#);
        assert_eq!(path_of(&bad_group), "features.modules[1].group");
        let bad_override = COMBINED.replace(r#""crm.customers": false"#, r#""crm.customers": 1"#);
        assert_eq!(
            path_of(&bad_override),
            r#"features.overrides["crm.customers"]"#
        );
    }

    #[test]
    fn deep_item_paths_name_the_item() {
        let bad_permission = COMBINED.replace(r#""customers.write""#, r#""customers write""#);
        let err = parse(&bad_permission).unwrap_err();
        assert_eq!(err.field(), Some("features.modules[1].permissions[1]"));
        assert!(err.to_string().contains(PERMISSION_RULE), "{err}");
        let bad_default = COMBINED.replace(
            r#""pro": ["crm.core", "crm.customers"]"#,
            r#""pro": ["crm.core", "crm.nope"]"#,
        );
        let err = parse(&bad_default).unwrap_err();
        assert_eq!(err.field(), Some("features.planDefaults.pro[1]"));
        let unknown = COMBINED.replace(r#""requires": ["crm.core"]"#, r#""requires": ["crm.x"]"#);
        let err = parse(&unknown).unwrap_err();
        assert_eq!(err.field(), Some("features.modules[1].requires[0]"));
        let repeated = COMBINED.replace(r#""key": "crm.customers""#, r#""key": "crm.core""#);
        let err = parse(&repeated).unwrap_err();
        assert_eq!(err.field(), Some("features.modules[1].key"));
        let link = COMBINED.replace("https://acme.test/privacy", "http://acme.test/privacy");
        let err = parse(&link).unwrap_err();
        assert_eq!(err.field(), Some("branding.footer.links[0].url"));
    }

    #[test]
    fn errors_never_echo_values() {
        let body = COMBINED.replace(r#""port": 587"#, r#""port": "hunter2-secret""#);
        let err = parse(&body).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let body = COMBINED.replace(r#""mailer""#, "\"mail\\u0000er\"");
        let err = parse(&body).unwrap_err();
        assert_eq!(err.field(), Some("smtp.username"));
        assert!(!err.to_string().contains("mail"), "{err}");
    }

    #[test]
    fn repeated_keys_are_refused() {
        let err = parse(r#"{"type":"smtp","type":"branding"}"#).unwrap_err();
        assert_eq!(err.code(), "invalid_payload");
        assert!(err.to_string().contains("duplicate field `type`"), "{err}");
    }

    #[test]
    fn deserialize_uses_the_same_rules() {
        let payload: SyncPayload = serde_json::from_str(COMBINED).unwrap();
        assert_eq!(payload, parse(COMBINED).unwrap());
        let err = serde_json::from_str::<SyncPayload>(&COMBINED.replace("587", "0")).unwrap_err();
        assert!(err.to_string().contains("smtp.port"), "{err}");
    }

    #[test]
    fn features_parse_leaves_references_to_recompute() {
        let features = Features::parse(
            br#"{"plan":"x","modules":[{"key":"a","group":"crm","requires":["a"]}],"planDefaults":{}}"#,
        )
        .unwrap();
        assert_eq!(features.modules[0].requires, vec!["a"]);
        let err = Features::parse(br#"{"plan":"x","modules":[{"key":"a"}],"planDefaults":{}}"#)
            .unwrap_err();
        assert_eq!(err.field(), Some("modules[0].group"));
    }

    #[test]
    fn cycle_is_reported_at_the_closing_module() {
        let body = COMBINED.replace(
            r#"{"key": "crm.core", "group": "crm", "permissions""#,
            r#"{"key": "crm.core", "group": "crm", "requires": ["crm.customers"], "permissions""#,
        );
        let err = parse(&body).unwrap_err();
        assert_eq!(err.field(), Some("features.modules[1].requires"));
        assert!(
            err.to_string()
                .contains("dependency cycle crm.core -> crm.customers -> crm.core"),
            "{err}"
        );
    }
}
