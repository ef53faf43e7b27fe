//! The command line, as `clap` reads it.

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Sign and verify syncgate sync payloads, make secrets, administer an edge.
///
/// Exit status: 0 success, 1 refused (verification failed, or the edge answered an error),
/// 2 bad input or usage, 3 the edge could not be reached or output could not be written.
#[derive(Debug, Parser)]
#[command(name = "syncgate", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sign a sync body: print the headers to add (or, with --curl, a curl command).
    Sign(SignArgs),
    /// Verify a request against a tenant policy; print the verdict as JSON.
    Verify(VerifyArgs),
    /// Print a fresh signing secret (whsec_ + 32 random bytes in base64).
    Keygen,
    /// Print the Content-Digest value (RFC 9530, sha-256) of a body.
    Digest(DigestArgs),
    /// Call an edge's admin API.
    Admin(AdminArgs),
}

/// A signature scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemeArg {
    /// RFC 9421 HTTP Message Signatures (hmac-sha256) with an RFC 9530 Content-Digest.
    Rfc9421,
    /// Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature).
    StandardWebhooks,
}

impl From<SchemeArg> for syncgate::Scheme {
    fn from(scheme: SchemeArg) -> Self {
        match scheme {
            SchemeArg::Rfc9421 => Self::Rfc9421,
            SchemeArg::StandardWebhooks => Self::StandardWebhooks,
        }
    }
}

/// `syncgate sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// The absolute URL the request is sent to, e.g. https://edge.example/v1/acme-eu1/sync.
    #[arg(long)]
    pub url: String,
    /// The signing key id.
    #[arg(long)]
    pub kid: String,
    /// The signing secret (whsec_…). Prefer the environment variable: arguments are visible
    /// to other users of the machine.
    #[arg(long, env = "SYNCGATE_SECRET", hide_env_values = true)]
    pub secret: String,
    /// The signature scheme.
    #[arg(long, value_enum, default_value_t = SchemeArg::Rfc9421)]
    pub scheme: SchemeArg,
    /// The nonce (RFC 9421 nonce or webhook-id). Default: 16 random bytes in hex.
    #[arg(long)]
    pub nonce: Option<String>,
    /// The signature time, Unix seconds. Default: now.
    #[arg(long, allow_negative_numbers = true)]
    pub created: Option<i64>,
    /// The HTTP method.
    #[arg(long, default_value = "POST")]
    pub method: String,
    /// The request's Content-Type.
    #[arg(long, default_value = "application/json")]
    pub content_type: String,
    /// An extra request header, 'Name: value' (repeatable). Sent by --curl; signed when
    /// named with --cover.
    #[arg(long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// An RFC 9421 component to cover beyond @method, @path and content-digest (repeatable),
    /// e.g. @authority, content-type, x-trace.
    #[arg(long = "cover", value_name = "COMPONENT")]
    pub components: Vec<String>,
    /// RFC 9421 `expires`, in seconds after `created`.
    #[arg(long, value_name = "SECONDS")]
    pub expires_in: Option<u32>,
    /// RFC 9421 `tag`.
    #[arg(long)]
    pub tag: Option<String>,
    /// RFC 9421 signature label. Default sig1.
    #[arg(long)]
    pub label: Option<String>,
    /// Print a complete curl command (POSIX shell quoting) instead of header lines.
    #[arg(long)]
    pub curl: bool,
    /// The body: a file, or - for standard input.
    #[arg(value_name = "FILE|-")]
    pub body: String,
}

/// `syncgate verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The tenant policy JSON (brief §3), with plaintext whsec_ secrets.
    #[arg(long, value_name = "FILE")]
    pub policy: String,
    /// Verify as of this time, Unix seconds. Default: now.
    #[arg(long, allow_negative_numbers = true)]
    pub now: Option<i64>,
    /// The scheme of a raw HTTP request's URL when its target is a path.
    #[arg(long, value_parser = ["https", "http"], default_value = "https")]
    pub raw_scheme: String,
    /// The request: JSON { method, url, headers, body } or raw HTTP/1.1 text; - for stdin.
    #[arg(value_name = "REQUEST_FILE|-")]
    pub request: String,
}

/// `syncgate digest`.
#[derive(Debug, Args)]
pub struct DigestArgs {
    /// The body: a file, or - for standard input.
    #[arg(value_name = "FILE|-")]
    pub body: String,
}

/// `syncgate admin`.
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// The edge's base URL.
    #[arg(
        long,
        global = true,
        env = "SYNCGATE_EDGE",
        default_value = "http://127.0.0.1:8787"
    )]
    pub edge: String,
    /// The admin token (the edge's ADMIN_TOKEN). Prefer the environment variable.
    #[arg(
        long,
        global = true,
        env = "SYNCGATE_ADMIN_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
    /// The instance code, e.g. acme-eu1.
    #[arg(long, global = true)]
    pub instance: Option<String>,
    /// Send If-Match with this entity tag (from an earlier answer's etag), so the write only
    /// applies to that revision of the policy.
    #[arg(long, global = true, value_name = "ETAG")]
    pub if_match: Option<String>,
    /// Give up on the edge after this many seconds.
    #[arg(long, global = true, default_value_t = 30, value_name = "SECONDS")]
    pub timeout: u64,
    /// What to do.
    #[command(subcommand)]
    pub action: AdminAction,
}

/// A signing key's status when added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeyStatusArg {
    /// Signs and verifies.
    Active,
    /// Verifies only.
    Retiring,
}

/// The admin subcommands.
#[derive(Debug, Subcommand)]
pub enum AdminAction {
    /// Create or replace an instance (PUT); the policy file may carry keys and limits.
    CreateInstance {
        /// The tenant id (required unless the policy file has one).
        #[arg(long)]
        tenant: Option<String>,
        /// The origin CRM's base URL.
        #[arg(long)]
        origin: Option<String>,
        /// A tenant policy JSON file to start from (plaintext whsec_ secrets).
        #[arg(long, value_name = "FILE")]
        policy: Option<String>,
    },
    /// Print the instance's policy (secrets redacted) with key usage.
    GetInstance,
    /// Remove the instance.
    DeleteInstance,
    /// Add a signing key; without --secret the edge generates one and shows it this once.
    AddKey {
        /// The key id.
        #[arg(long)]
        kid: String,
        /// The key version.
        #[arg(long)]
        version: u32,
        /// The secret (whsec_…); default: generated by the edge.
        #[arg(long)]
        secret: Option<String>,
        /// The key's status.
        #[arg(long, value_enum, default_value_t = KeyStatusArg::Active)]
        status: KeyStatusArg,
    },
    /// Mark a key retiring: it still verifies, it should no longer sign.
    RetireKey {
        /// The key id.
        #[arg(long)]
        kid: String,
    },
    /// Revoke a key: it never verifies again.
    RevokeKey {
        /// The key id.
        #[arg(long)]
        kid: String,
    },
    /// Issue an API key; the key is shown this once.
    IssueApiKey {
        /// Comma-separated scopes, e.g. sync:read,customers:read.
        #[arg(long)]
        scopes: String,
        /// Comma-separated customer fields the key may write (default: all).
        #[arg(long)]
        fields: Option<String>,
        /// A label for operators.
        #[arg(long)]
        name: Option<String>,
    },
    /// Revoke an API key by id.
    RevokeApiKey {
        /// The API key id (from issue-api-key).
        #[arg(long)]
        id: String,
    },
    /// Print the customer-API access log, newest first.
    AccessLog {
        /// Entries per page.
        #[arg(long)]
        limit: Option<u32>,
        /// The nextCursor of the previous page.
        #[arg(long)]
        cursor: Option<String>,
    },
}
