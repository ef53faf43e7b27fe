//! Customer records for the customer API (brief §4): what a create or a merge patch may contain,
//! how a patch applies, and which fields an API key may write.
//!
//! The edge validates bodies before forwarding them and the origin validates them again with the
//! same code, so both give the same `invalid_field` answer, naming the field (`email`,
//! `custom.tier`, `tags[3]`) and the rule — never the value.
//!
//! Decisions:
//! - `null` on create means "not given"; on a patch it removes an optional field (RFC 7396) and
//!   is refused for `firstName` and `email`. Empty strings are refused: send `null` to clear.
//! - `tags` is a set sent as a list: a repeated tag is refused (the stored record is what was
//!   sent, so an `Idempotency-Key` retry compares equal). A patch replaces the whole list, as
//!   RFC 7396 does with arrays.
//! - `custom` is a flat object of scalars. A patch merges it one level deep (`null` removes a
//!   key; `"custom": null` removes them all). A `null` value on create is not stored.
//! - Ownership: API keys may be limited to a list of fields. The names are the top-level fields
//!   ([`CustomerField`]), plus `custom.<key>` for one custom key; owning `custom` owns every
//!   custom key. Removing all custom keys at once needs `custom` itself.
//! - `id`, `createdAt`, `updatedAt` and `version` are managed by the server and refused in input.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Number, Value};

use super::grammar;
use super::reader::{
    self, Document, Fields, JsonPath, KeyRule, MAX_SAFE_INTEGER, Node, TextRule, read_integer,
    read_list, read_map, read_matching, read_str,
};
use crate::error::Rejection;
use crate::policy::identifier::is_identifier;

/// Longest `externalId`.
pub const MAX_EXTERNAL_ID_CHARS: usize = 128;
/// Longest `firstName` or `lastName`.
pub const MAX_PERSON_NAME_CHARS: usize = 100;
/// Longest `company`.
pub const MAX_COMPANY_CHARS: usize = 200;
/// Longest `jobTitle`.
pub const MAX_JOB_TITLE_CHARS: usize = 200;
/// Most tags.
pub const MAX_TAGS: usize = 50;
/// Longest tag.
pub const MAX_TAG_CHARS: usize = 64;
/// Most keys in `custom`.
pub const MAX_CUSTOM_KEYS: usize = 50;
/// Longest `custom` key.
pub const MAX_CUSTOM_KEY_CHARS: usize = 64;
/// Longest `custom` text value (line breaks allowed).
pub const MAX_CUSTOM_TEXT_CHARS: usize = 1000;
/// Longest record `id`.
pub const MAX_ID_CHARS: usize = 128;

/// How ownership names one custom key: this prefix, then the key (`custom.tier`).
pub const CUSTOM_KEY_PREFIX: &str = "custom.";

/// Fields the server sets; refused in a create or a patch.
pub const SERVER_MANAGED_FIELDS: [&str; 4] = ["id", "createdAt", "updatedAt", "version"];

const EXTERNAL_ID: TextRule = TextRule::single_line(MAX_EXTERNAL_ID_CHARS);
const PERSON_NAME: TextRule = TextRule::single_line(MAX_PERSON_NAME_CHARS);
const COMPANY: TextRule = TextRule::single_line(MAX_COMPANY_CHARS);
const JOB_TITLE: TextRule = TextRule::single_line(MAX_JOB_TITLE_CHARS);
const TAG: TextRule = TextRule::single_line(MAX_TAG_CHARS);
const CUSTOM_TEXT: TextRule = TextRule::multi_line(MAX_CUSTOM_TEXT_CHARS);
const CUSTOM_KEYS: KeyRule = KeyRule {
    accepts: is_custom_key,
    reason: "keys must be 1 to 64 characters of a-z, A-Z, 0-9, '_' or '-'",
};

/// A field a client writes, as API keys name it in their `fields` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CustomerField {
    /// `externalId`: the record's id in the writing system.
    ExternalId,
    /// `firstName` (required).
    FirstName,
    /// `lastName`.
    LastName,
    /// `email` (required).
    Email,
    /// `phone`, E.164.
    Phone,
    /// `company`.
    Company,
    /// `jobTitle`.
    JobTitle,
    /// `lifecycleStage`.
    LifecycleStage,
    /// `tags`.
    Tags,
    /// `custom`: every custom key (one key is owned as `custom.<key>`).
    Custom,
}

impl CustomerField {
    /// Every field, in wire order (the order ownership is checked in).
    pub const ALL: [Self; 10] = [
        Self::ExternalId,
        Self::FirstName,
        Self::LastName,
        Self::Email,
        Self::Phone,
        Self::Company,
        Self::JobTitle,
        Self::LifecycleStage,
        Self::Tags,
        Self::Custom,
    ];

    /// The wire name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ExternalId => "externalId",
            Self::FirstName => "firstName",
            Self::LastName => "lastName",
            Self::Email => "email",
            Self::Phone => "phone",
            Self::Company => "company",
            Self::JobTitle => "jobTitle",
            Self::LifecycleStage => "lifecycleStage",
            Self::Tags => "tags",
            Self::Custom => "custom",
        }
    }

    /// Parses a wire name.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|field| field.as_str() == name)
    }
}

/// Where a contact is in the funnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LifecycleStage {
    /// A prospect.
    Lead,
    /// Subscribed to content, not yet a lead.
    Subscriber,
    /// In an open deal.
    Opportunity,
    /// Has bought.
    Customer,
    /// Recommends the product.
    Evangelist,
    /// None of the above.
    Other,
}

impl LifecycleStage {
    /// Every stage, in wire order.
    pub const ALL: [Self; 6] = [
        Self::Lead,
        Self::Subscriber,
        Self::Opportunity,
        Self::Customer,
        Self::Evangelist,
        Self::Other,
    ];

    /// The wire name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Lead => "lead",
            Self::Subscriber => "subscriber",
            Self::Opportunity => "opportunity",
            Self::Customer => "customer",
            Self::Evangelist => "evangelist",
            Self::Other => "other",
        }
    }
}

/// A `custom` value: a string, a number or a boolean (`null` means "no value").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum CustomValue {
    /// Text; line breaks allowed.
    Text(String),
    /// A JSON number, kept as sent.
    Number(Number),
    /// `true` or `false`.
    Bool(bool),
}

/// The writable part of a customer: a create body, and the fields of a stored record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerInput {
    /// The record's id in the writing system.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// First name.
    pub first_name: String,
    /// Last name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// E-mail address.
    pub email: String,
    /// Phone number, E.164.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Company name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    /// Job title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    /// Lifecycle stage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle_stage: Option<LifecycleStage>,
    /// Tags, without repeats.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Custom scalar fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom: Option<BTreeMap<String, CustomValue>>,
}

/// A stored customer record: the writable fields plus what the server manages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    /// Server-assigned id.
    pub id: String,
    /// The writable fields.
    #[serde(flatten)]
    pub fields: CustomerInput,
    /// Creation time, RFC 3339.
    pub created_at: String,
    /// Last change, RFC 3339.
    pub updated_at: String,
    /// Starts at 1, +1 per change; the `ETag`.
    pub version: u64,
}

/// How a merge patch treats one optional field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum FieldPatch<T> {
    /// Absent from the patch: unchanged.
    #[default]
    Keep,
    /// Set to this value.
    Set(T),
    /// `null`: removed.
    Remove,
}

/// How a merge patch treats `custom`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CustomPatch {
    /// Absent from the patch: unchanged.
    #[default]
    Keep,
    /// `null`: every custom key removed.
    Remove,
    /// An object: each key set (`Some`) or removed (`None`), other keys unchanged.
    Merge(BTreeMap<String, Option<CustomValue>>),
}

/// A validated RFC 7396 merge patch of a customer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerPatch {
    /// `externalId`.
    pub external_id: FieldPatch<String>,
    /// `firstName`: set or unchanged (it cannot be removed).
    pub first_name: Option<String>,
    /// `lastName`.
    pub last_name: FieldPatch<String>,
    /// `email`: set or unchanged (it cannot be removed).
    pub email: Option<String>,
    /// `phone`.
    pub phone: FieldPatch<String>,
    /// `company`.
    pub company: FieldPatch<String>,
    /// `jobTitle`.
    pub job_title: FieldPatch<String>,
    /// `lifecycleStage`.
    pub lifecycle_stage: FieldPatch<LifecycleStage>,
    /// `tags`, replaced as a whole.
    pub tags: FieldPatch<Vec<String>>,
    /// `custom`, merged one level deep.
    pub custom: CustomPatch,
}

/// Validates a create body.
///
/// # Errors
/// `invalid_field` naming the first offending field.
pub fn validate_create(body: &[u8]) -> Result<CustomerInput, Rejection> {
    let root = root();
    let value = reader::parse_document(body, &root)?;
    read_input(&writable_fields(&value, &root)?)
}

/// Validates a merge-patch body (`application/merge-patch+json`, RFC 7396).
///
/// # Errors
/// `invalid_field` naming the first offending field.
pub fn validate_patch(body: &[u8]) -> Result<CustomerPatch, Rejection> {
    let root = root();
    let value = reader::parse_document(body, &root)?;
    read_patch(&writable_fields(&value, &root)?)
}

/// Checks that an API key limited to `owned_fields` may write every field in `touched` (from
/// [`CustomerInput::touched_fields`] or [`CustomerPatch::touched_fields`]). A field is owned when
/// listed; `custom.<key>` is also owned through `custom`.
///
/// # Errors
/// `forbidden_field` naming the first field, in `touched` order, the key does not own.
pub fn check_field_ownership(touched: &[String], owned_fields: &[String]) -> Result<(), Rejection> {
    let owns = |name: &str| owned_fields.iter().any(|owned| owned == name);
    let owned = |field: &&String| {
        owns(field)
            || (field.starts_with(CUSTOM_KEY_PREFIX) && owns(CustomerField::Custom.as_str()))
    };
    match touched.iter().find(|field| !owned(field)) {
        Some(field) => Err(Rejection::ForbiddenField {
            field: field.clone(),
        }),
        None => Ok(()),
    }
}

/// Whether `name` can appear in an API key's `fields`: a [`CustomerField`] name or
/// `custom.<key>`.
#[must_use]
pub fn is_ownable_field(name: &str) -> bool {
    CustomerField::parse(name).is_some()
        || name
            .strip_prefix(CUSTOM_KEY_PREFIX)
            .is_some_and(is_custom_key)
}

/// Whether `id` is a well-formed record id: 1 to 128 characters of a-z, A-Z, 0-9, `-`, `_`, `.`,
/// not only dots (an id is a URL path segment).
#[must_use]
pub fn is_customer_id(id: &str) -> bool {
    is_identifier(id, MAX_ID_CHARS)
}

impl CustomerInput {
    /// The fields this create writes, in wire order, each custom key as `custom.<key>`.
    #[must_use]
    pub fn touched_fields(&self) -> Vec<String> {
        use CustomerField as F;
        let named = [
            (F::ExternalId, self.external_id.is_some()),
            (F::FirstName, true),
            (F::LastName, self.last_name.is_some()),
            (F::Email, true),
            (F::Phone, self.phone.is_some()),
            (F::Company, self.company.is_some()),
            (F::JobTitle, self.job_title.is_some()),
            (F::LifecycleStage, self.lifecycle_stage.is_some()),
            (F::Tags, self.tags.is_some()),
        ];
        let custom = self.custom.iter().flat_map(BTreeMap::keys);
        touched_fields(named, custom.map(|key| custom_field_name(key)).collect())
    }
}

impl CustomerPatch {
    /// The fields this patch writes or removes, in wire order, each custom key as
    /// `custom.<key>` (`custom` itself when the patch removes them all).
    #[must_use]
    pub fn touched_fields(&self) -> Vec<String> {
        use CustomerField as F;
        let named = [
            (F::ExternalId, self.external_id.changes()),
            (F::FirstName, self.first_name.is_some()),
            (F::LastName, self.last_name.changes()),
            (F::Email, self.email.is_some()),
            (F::Phone, self.phone.changes()),
            (F::Company, self.company.changes()),
            (F::JobTitle, self.job_title.changes()),
            (F::LifecycleStage, self.lifecycle_stage.changes()),
            (F::Tags, self.tags.changes()),
        ];
        let custom = match &self.custom {
            CustomPatch::Keep => Vec::new(),
            CustomPatch::Remove => vec![CustomerField::Custom.as_str().to_owned()],
            CustomPatch::Merge(changes) => {
                changes.keys().map(|key| custom_field_name(key)).collect()
            }
        };
        touched_fields(named, custom)
    }

    /// Applies the patch to a record's fields (RFC 7396), returning the new fields.
    ///
    /// # Errors
    /// `invalid_field` `custom` when the merged object would exceed [`MAX_CUSTOM_KEYS`].
    pub fn apply_to(&self, current: &CustomerInput) -> Result<CustomerInput, Rejection> {
        Ok(CustomerInput {
            external_id: self.external_id.apply(current.external_id.as_ref()),
            first_name: self
                .first_name
                .as_ref()
                .unwrap_or(&current.first_name)
                .clone(),
            last_name: self.last_name.apply(current.last_name.as_ref()),
            email: self.email.as_ref().unwrap_or(&current.email).clone(),
            phone: self.phone.apply(current.phone.as_ref()),
            company: self.company.apply(current.company.as_ref()),
            job_title: self.job_title.apply(current.job_title.as_ref()),
            lifecycle_stage: self.lifecycle_stage.apply(current.lifecycle_stage.as_ref()),
            tags: self.tags.apply(current.tags.as_ref()),
            custom: self.custom.apply(current.custom.as_ref())?,
        })
    }
}

impl<T: Clone> FieldPatch<T> {
    /// Whether the patch sets or removes the field.
    #[must_use]
    pub const fn changes(&self) -> bool {
        !matches!(self, Self::Keep)
    }

    /// The field's value after the patch.
    #[must_use]
    pub fn apply(&self, current: Option<&T>) -> Option<T> {
        match self {
            Self::Keep => current.cloned(),
            Self::Set(value) => Some(value.clone()),
            Self::Remove => None,
        }
    }
}

impl CustomPatch {
    /// `custom` after the patch.
    ///
    /// # Errors
    /// `invalid_field` `custom` when the result would exceed [`MAX_CUSTOM_KEYS`].
    pub fn apply(
        &self,
        current: Option<&BTreeMap<String, CustomValue>>,
    ) -> Result<Option<BTreeMap<String, CustomValue>>, Rejection> {
        let changes = match self {
            Self::Keep => return Ok(current.cloned()),
            Self::Remove => return Ok(None),
            Self::Merge(changes) => changes,
        };
        let mut merged = current.cloned().unwrap_or_default();
        for (key, change) in changes {
            match change {
                Some(value) => merged.insert(key.clone(), value.clone()),
                None => merged.remove(key),
            };
        }
        if merged.len() > MAX_CUSTOM_KEYS {
            return Err(root()
                .field(CustomerField::Custom.as_str())
                .reject(format!("must have at most {MAX_CUSTOM_KEYS} entries")));
        }
        Ok(Some(merged))
    }
}

impl Customer {
    /// A new record at version 1; `now` is an RFC 3339 time from the caller's clock.
    #[must_use]
    pub fn new(id: String, fields: CustomerInput, now: String) -> Self {
        Self {
            id,
            fields,
            created_at: now.clone(),
            updated_at: now,
            version: 1,
        }
    }

    /// The record after `patch`, one version later, updated at `now` (RFC 3339).
    ///
    /// # Errors
    /// As [`CustomerPatch::apply_to`].
    pub fn patched(&self, patch: &CustomerPatch, now: String) -> Result<Self, Rejection> {
        Ok(Self {
            id: self.id.clone(),
            fields: patch.apply_to(&self.fields)?,
            created_at: self.created_at.clone(),
            updated_at: now,
            version: self.version.saturating_add(1),
        })
    }

    /// Reads a stored record (the shape `Serialize` writes), checking every field.
    ///
    /// # Errors
    /// `invalid_field` naming the first offending field.
    pub fn from_value(value: &Value) -> Result<Self, Rejection> {
        Self::from_node(&Node::from_value(value, &root())?)
    }

    fn from_node(value: &Node<'_>) -> Result<Self, Rejection> {
        let root = root();
        let known: Vec<&str> = CustomerField::ALL
            .iter()
            .map(|field| field.as_str())
            .chain(SERVER_MANAGED_FIELDS)
            .collect();
        let fields = Fields::new(value, &root, &known)?;
        Ok(Self {
            id: fields.required("id", |v, p| {
                read_matching(v, p, is_customer_id, "must be a record id")
            })?,
            fields: read_input(&fields)?,
            created_at: fields.required("createdAt", read_timestamp)?,
            updated_at: fields.required("updatedAt", read_timestamp)?,
            version: fields.required("version", |v, p| read_integer(v, p, 1..=MAX_SAFE_INTEGER))?,
        })
    }
}

impl<'de> Deserialize<'de> for Customer {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        reader::deserialize_with(deserializer, Self::from_node)
    }
}

fn root() -> JsonPath<'static> {
    JsonPath::root(Document::Customer)
}

fn is_custom_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= MAX_CUSTOM_KEY_CHARS
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The named fields that are touched, in wire order, then the custom ones.
fn touched_fields(named: [(CustomerField, bool); 9], custom: Vec<String>) -> Vec<String> {
    named
        .into_iter()
        .filter(|(_, touched)| *touched)
        .map(|(field, _)| field.as_str().to_owned())
        .chain(custom)
        .collect()
}

fn custom_field_name(key: &str) -> String {
    format!("{CUSTOM_KEY_PREFIX}{key}")
}

/// The body as an object of writable fields only.
fn writable_fields<'v, 'd, 'p>(
    value: &'v Node<'d>,
    root: &JsonPath<'p>,
) -> Result<Fields<'v, 'd, 'p>, Rejection> {
    if let Some(name) = Fields::open(value, root)?.first_present(&SERVER_MANAGED_FIELDS) {
        return Err(root.field(name).reject("is managed by the server"));
    }
    Fields::new(value, root, &CustomerField::ALL.map(CustomerField::as_str))
}

fn read_input(fields: &Fields<'_, '_, '_>) -> Result<CustomerInput, Rejection> {
    use CustomerField as F;
    Ok(CustomerInput {
        external_id: fields.optional(F::ExternalId.as_str(), |v, p| EXTERNAL_ID.read(v, p))?,
        first_name: fields.required(F::FirstName.as_str(), |v, p| PERSON_NAME.read(v, p))?,
        last_name: fields.optional(F::LastName.as_str(), |v, p| PERSON_NAME.read(v, p))?,
        email: fields.required(F::Email.as_str(), reader::read_email)?,
        phone: fields.optional(F::Phone.as_str(), read_phone)?,
        company: fields.optional(F::Company.as_str(), |v, p| COMPANY.read(v, p))?,
        job_title: fields.optional(F::JobTitle.as_str(), |v, p| JOB_TITLE.read(v, p))?,
        lifecycle_stage: fields.optional(F::LifecycleStage.as_str(), read_stage)?,
        tags: fields.optional(F::Tags.as_str(), read_tags)?,
        custom: fields
            .optional(F::Custom.as_str(), read_custom)?
            .map(|entries| {
                let mut custom = BTreeMap::new();
                for (key, value) in entries {
                    if let Some(value) = value {
                        custom.insert(key, value);
                    }
                }
                custom
            }),
    })
}

fn read_patch(fields: &Fields<'_, '_, '_>) -> Result<CustomerPatch, Rejection> {
    use CustomerField as F;
    Ok(CustomerPatch {
        external_id: read_field_patch(fields, F::ExternalId, |v, p| EXTERNAL_ID.read(v, p))?,
        first_name: read_required_patch(fields, F::FirstName, |v, p| PERSON_NAME.read(v, p))?,
        last_name: read_field_patch(fields, F::LastName, |v, p| PERSON_NAME.read(v, p))?,
        email: read_required_patch(fields, F::Email, reader::read_email)?,
        phone: read_field_patch(fields, F::Phone, read_phone)?,
        company: read_field_patch(fields, F::Company, |v, p| COMPANY.read(v, p))?,
        job_title: read_field_patch(fields, F::JobTitle, |v, p| JOB_TITLE.read(v, p))?,
        lifecycle_stage: read_field_patch(fields, F::LifecycleStage, read_stage)?,
        tags: read_field_patch(fields, F::Tags, read_tags)?,
        custom: match read_field_patch(fields, F::Custom, read_custom)? {
            FieldPatch::Keep => CustomPatch::Keep,
            FieldPatch::Remove => CustomPatch::Remove,
            FieldPatch::Set(changes) => CustomPatch::Merge(changes),
        },
    })
}

/// An optional field in a patch: absent keeps, `null` removes, a value sets.
fn read_field_patch<'v, 'd, T>(
    fields: &Fields<'v, 'd, '_>,
    field: CustomerField,
    read: impl FnOnce(&'v Node<'d>, &JsonPath) -> Result<T, Rejection>,
) -> Result<FieldPatch<T>, Rejection> {
    match fields.raw(field.as_str()) {
        None => Ok(FieldPatch::Keep),
        Some((Node::Null, _)) => Ok(FieldPatch::Remove),
        Some((value, path)) => read(value, &path).map(FieldPatch::Set),
    }
}

/// A required field in a patch: absent keeps, a value sets, `null` is refused.
fn read_required_patch<'v, 'd, T>(
    fields: &Fields<'v, 'd, '_>,
    field: CustomerField,
    read: impl FnOnce(&'v Node<'d>, &JsonPath) -> Result<T, Rejection>,
) -> Result<Option<T>, Rejection> {
    match read_field_patch(fields, field, read)? {
        FieldPatch::Keep => Ok(None),
        FieldPatch::Set(value) => Ok(Some(value)),
        FieldPatch::Remove => Err(root()
            .field(field.as_str())
            .reject("is required and cannot be removed")),
    }
}

fn read_phone(value: &Node<'_>, path: &JsonPath) -> Result<String, Rejection> {
    read_matching(
        value,
        path,
        grammar::is_e164_phone,
        "must be an E.164 phone number (+ then 2 to 15 digits, the first not 0)",
    )
}

fn read_stage(value: &Node<'_>, path: &JsonPath) -> Result<LifecycleStage, Rejection> {
    let name = read_str(value, path)?;
    LifecycleStage::ALL
        .into_iter()
        .find(|stage| stage.as_str() == name)
        .ok_or_else(|| {
            path.reject("must be one of lead, subscriber, opportunity, customer, evangelist, other")
        })
}

fn read_tags(value: &Node<'_>, path: &JsonPath) -> Result<Vec<String>, Rejection> {
    let tags = read_list(value, path, MAX_TAGS, |v, p| TAG.read(v, p))?;
    let mut seen = BTreeSet::new();
    match tags.iter().position(|tag| !seen.insert(tag)) {
        Some(i) => Err(path.index(i).reject("repeats an earlier tag")),
        None => Ok(tags),
    }
}

/// `custom` as sent: each key with its value, or `None` for `null`.
fn read_custom(
    value: &Node<'_>,
    path: &JsonPath,
) -> Result<BTreeMap<String, Option<CustomValue>>, Rejection> {
    read_map(value, path, CUSTOM_KEYS, MAX_CUSTOM_KEYS, read_custom_value)
}

fn read_custom_value(value: &Node<'_>, path: &JsonPath) -> Result<Option<CustomValue>, Rejection> {
    match value {
        Node::Null => Ok(None),
        Node::Bool(flag) => Ok(Some(CustomValue::Bool(*flag))),
        Node::Number(number) => Ok(Some(CustomValue::Number(number.clone()))),
        Node::String(text) => {
            CUSTOM_TEXT.check(text, path)?;
            Ok(Some(CustomValue::Text(text.as_ref().to_owned())))
        }
        Node::Array(_) | Node::Object(_) => {
            Err(path.reject("must be a string, number, true, false or null"))
        }
    }
}

fn read_timestamp(value: &Node<'_>, path: &JsonPath) -> Result<String, Rejection> {
    read_matching(
        value,
        path,
        grammar::is_rfc3339_timestamp,
        "must be an RFC 3339 date-time",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(result: Result<impl core::fmt::Debug, Rejection>) -> String {
        match result.unwrap_err() {
            Rejection::InvalidField { field, .. } => field,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn minimal_create_and_its_touched_fields() {
        let input = validate_create(
            br#"{"firstName":"Ada","email":"ada@example.com","custom":{"tier":"gold","x":null}}"#,
        )
        .unwrap();
        assert_eq!(input.first_name, "Ada");
        assert_eq!(input.custom.as_ref().unwrap().len(), 1);
        assert_eq!(
            input.touched_fields(),
            vec!["firstName", "email", "custom.tier"]
        );
    }

    #[test]
    fn patch_nulls_remove_and_custom_merges() {
        let current = validate_create(
            br#"{"firstName":"Ada","email":"ada@example.com","phone":"+441234567","custom":{"a":1,"b":true}}"#,
        )
        .unwrap();
        let patch = validate_patch(br#"{"phone":null,"custom":{"a":null,"c":"x"}}"#).unwrap();
        assert_eq!(
            patch.touched_fields(),
            vec!["phone", "custom.a", "custom.c"]
        );
        let next = patch.apply_to(&current).unwrap();
        assert_eq!(next.phone, None);
        let custom = next.custom.unwrap();
        assert_eq!(custom.keys().collect::<Vec<_>>(), vec!["b", "c"]);
        let removal = validate_patch(br#"{"custom":null}"#).unwrap();
        assert_eq!(removal.touched_fields(), vec!["custom"]);
    }

    #[test]
    fn required_fields_cannot_be_removed() {
        assert_eq!(field_of(validate_patch(br#"{"email":null}"#)), "email");
    }

    #[test]
    fn merged_custom_is_still_bounded() {
        let many: Vec<String> = (0..MAX_CUSTOM_KEYS)
            .map(|i| format!(r#""k{i}":1"#))
            .collect();
        let body = format!(
            r#"{{"firstName":"A","email":"a@b.co","custom":{{{}}}}}"#,
            many.join(",")
        );
        let current = validate_create(body.as_bytes()).unwrap();
        let patch = validate_patch(br#"{"custom":{"extra":1}}"#).unwrap();
        assert_eq!(field_of(patch.apply_to(&current)), "custom");
    }

    #[test]
    fn records_round_trip() {
        let fields =
            validate_create(br#"{"firstName":"Ada","email":"ada@example.com","tags":["vip"]}"#)
                .unwrap();
        let record = Customer::new("cus_1".into(), fields, "2026-11-22T10:00:00Z".into());
        let text = serde_json::to_string(&record).unwrap();
        assert_eq!(
            text,
            r#"{"id":"cus_1","firstName":"Ada","email":"ada@example.com","tags":["vip"],"createdAt":"2026-11-22T10:00:00Z","updatedAt":"2026-11-22T10:00:00Z","version":1}"#
        );
        let back: Customer = serde_json::from_str(&text).unwrap();
        assert_eq!(back, record);
        let patched = record
            .patched(
                &CustomerPatch::default(),
                "2026-11-22T11:00:00+01:00".into(),
            )
            .unwrap();
        assert_eq!(patched.version, 2);
    }
}
