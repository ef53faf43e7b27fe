// Types of the `syncgate` npm package: the verification core of the syncgate edge gateway,
// compiled to WebAssembly. Hand-written, kept in step with src/wasm.rs.
// tests/js/types.test.mjs checks these types against the ones derived from the Rust types
// (src/ts_types.rs, `make ts-types`).
//
// No function throws on bad input: every call answers a tagged result, `{ ok: true, … }` or
// a `Failure` (`{ ok: false, code, status, message, field? }`), and narrowing on `ok` (then on
// `code`) gives the precise shape.

// ---------------------------------------------------------------------------------------------
// Vocabulary

/** A signature scheme the core verifies. */
export type Scheme = "rfc9421" | "standard-webhooks";

/** Where a signing key is in its life: `active` signs and verifies, `retiring` only verifies. */
export type KeyStatus = "active" | "retiring" | "revoked";

/** A sync payload's type. */
export type PayloadType = "features" | "branding" | "smtp" | "combined";

/** A configuration section a payload can carry (`combined` carries two or more). */
export type Section = "features" | "branding" | "smtp";

/** A Standard Webhooks symmetric secret: `whsec_` followed by the base64 of the key bytes. */
export type WebhookSecret = `whsec_${string}`;

/** Every stable rejection code, with the HTTP status that goes with it. */
export interface RejectionStatus {
  unknown_instance: 404;
  instance_disabled: 403;
  payload_too_large: 413;
  unsupported_media_type: 415;
  missing_signature: 401;
  malformed_signature: 400;
  unknown_key: 401;
  revoked_key: 401;
  stale_timestamp: 401;
  future_timestamp: 401;
  digest_mismatch: 400;
  invalid_signature: 401;
  invalid_payload: 422;
  tenant_mismatch: 403;
  unsupported_payload_type: 422;
  blocked_module_group: 403;
  unsupported_module_group: 422;
  replayed_nonce: 409;
  duplicate_payload: 409;
  stale_version: 409;
  rate_limited: 429;
  origin_unavailable: 503;
  unauthorized: 401;
  forbidden: 403;
  forbidden_field: 403;
  invalid_field: 422;
  not_found: 404;
  version_conflict: 409;
  idempotency_conflict: 409;
  precondition_failed: 412;
  internal_error: 500;
  injected_fault: 500;
  invalid_control: 400;
}

/** A stable, machine-readable rejection code such as `"invalid_signature"`. */
export type RejectionCode = keyof RejectionStatus;

/**
 * A refusal. `code` is stable (senders and dashboards key on it), `status` is its HTTP status,
 * `message` is short and never contains a secret or an SMTP password, and `field` names the
 * offending payload path or input field when there is one (`"smtp.port"`, `"request.url"`).
 */
export type Failure = {
  [C in RejectionCode]: {
    ok: false;
    code: C;
    status: RejectionStatus[C];
    message: string;
    field?: string;
  };
}[RejectionCode];

// ---------------------------------------------------------------------------------------------
// Requests and tenant policy

/**
 * Request headers: a plain object (names are case-insensitive; a list value is joined with
 * `", "`), or anything iterable over `[name, value]` pairs, such as a Fetch `Headers` or a `Map`.
 */
export type HeaderMap =
  | Readonly<Record<string, string | readonly string[]>>
  | Iterable<readonly [string, string]>;

/** Raw bytes (a Node `Buffer` is a Uint8Array); a string is taken as its UTF-8 bytes. */
export type Body = Uint8Array | ArrayBuffer | string;

/** An HTTP request as the core sees it. */
export interface SyncRequest {
  /** `"POST"` for a sync. */
  method: string;
  /** Absolute URL, so `@authority`, `@scheme`, `@target-uri`, `@path` and `@query` can be derived. */
  url: string;
  /** Name → value; names are matched case-insensitively. A sync body must be `application/json`. */
  headers: HeaderMap;
  /** The raw body. */
  body: Body;
}

/** One version of a tenant's signing key. */
export interface PolicyKey {
  /** Key id, sent as `keyid` in RFC 9421 signatures. */
  kid: string;
  /** Monotonic key version, reported in verdicts. */
  version: number;
  status: KeyStatus;
  /** The plaintext secret (`whsec_…`, 16 to 128 key bytes). */
  secret: WebhookSecret;
}

/** Customer-API rate limits (used by the edge, accepted here so one policy fits everywhere). */
export interface RateLimits {
  /** Default 600. */
  perKeyPerMinute?: number;
  /** Default 3000. */
  perTenantPerMinute?: number;
}

/**
 * The configuration an instance is verified against. Omitted fields take the documented
 * defaults; unknown fields are rejected (`invalid_field`).
 */
export interface TenantPolicy {
  /** Instance code routed in the path: `[a-z0-9][a-z0-9-]{1,62}`. */
  instance: string;
  /** Tenant id, the same grammar as `instance`: `[a-z0-9][a-z0-9-]{1,62}`; a payload's `tenant` must equal it. */
  tenant: string;
  /** Default `true`. */
  enabled?: boolean;
  /** Base URL of the origin CRM. */
  origin?: string;
  /** Default both schemes. */
  schemes?: readonly Scheme[];
  /** The key ring (at most 16 keys). Default none, which accepts no signature. */
  keys?: readonly PolicyKey[];
  /** Allowed clock skew in seconds, both directions, 1 to 86400. Default 300. */
  skewSeconds?: number;
  /** Largest accepted body in bytes. Default 262144 (256 KiB). */
  maxBodyBytes?: number;
  /** Accepted payload types. Default all four. */
  payloadTypes?: readonly PayloadType[];
  rateLimits?: RateLimits;
  /** Default `crm`, `sales`, `marketing`, `support`, `billing`, `reports`. */
  supportedModuleGroups?: readonly string[];
  /** Never accepted on the sync path. Default `website`, `landing_page`. */
  blockedModuleGroups?: readonly string[];
  /**
   * Provider webhooks the instance accepts (`POST /v1/{instance}/hooks/{provider}`), each with
   * the provider's secret. The edge seals the secrets and never answers them.
   */
  providers?: Partial<Record<Provider, ProviderEntry>>;
}

/** A webhook provider whose deliveries the core verifies with the provider's own scheme. */
export type Provider = "hubspot" | "stripe" | "github" | "slack" | "shopify";

/** A provider's entry in a policy. */
export interface ProviderEntry {
  /**
   * The secret as the provider shows it (HubSpot client secret, Stripe `whsec_…` signing
   * secret, GitHub webhook secret, Slack signing secret, Shopify client secret), 16 to 128
   * bytes; its UTF-8 bytes are the MAC key.
   */
  secret: string;
}

// ---------------------------------------------------------------------------------------------
// Sync payload

/** A feature module. */
export interface Module {
  /** Unique key, e.g. `"crm.customers"` (1 to 64 of a-z, A-Z, 0-9, `-`, `_`, `.`). */
  key: string;
  /** Module group, e.g. `"crm"`; must be supported and not blocked by the tenant policy. */
  group: string;
  /** Keys of modules this one needs (no cycles; each must be a module of the payload). */
  requires?: string[];
  /** Permissions granted while the module is enabled. */
  permissions?: string[];
}

/** The `features` section: modules, plan defaults and overrides. */
export interface FeaturesSection {
  /** The tenant's plan; `planDefaults[plan]` lists the modules enabled by default. */
  plan: string;
  /** At most 256. */
  modules: Module[];
  /** Plan name → keys of the modules it enables; must contain `plan`. */
  planDefaults: Record<string, string[]>;
  /** Module key → forced on (`true`) or off (`false`). */
  overrides?: Record<string, boolean>;
}

/** A footer link. */
export interface FooterLink {
  label: string;
  /** `https://` only. */
  url: string;
}

/** The `branding` section. URLs are `https://` only; colours are `#rgb` or `#rrggbb`. */
export interface BrandingSection {
  /** At most 120 characters, one line. */
  title: string;
  logoUrl?: string;
  sidebarLogoUrl?: string;
  faviconUrl?: string;
  primaryColor?: string;
  footer?: {
    /** At most 500 characters, one line. */
    text?: string;
    /** At most 20. */
    links?: FooterLink[];
  };
}

/** Transport security of an SMTP connection. */
export type SmtpEncryption = "none" | "starttls" | "tls";

/**
 * The `smtp` section. `username` and `password` come together or not at all. The password
 * travels only inside an accepted payload, never in an error.
 */
export interface SmtpSection {
  /** A host name or an IPv4 address. */
  host: string;
  /** 1 to 65535. */
  port: number;
  encryption: SmtpEncryption;
  username?: string;
  password?: string;
  fromEmail: string;
  fromName?: string;
}

/** Fields every payload has. */
export interface PayloadHead<T extends PayloadType> {
  type: T;
  /** Must equal the routed tenant. */
  tenant: string;
  /**
   * 1 to 2^53 − 1; must be newer than the last applied version of every section the payload
   * carries (checked by the edge's ledger).
   */
  version: number;
}

/** A `features` payload. */
export interface FeaturesPayload extends PayloadHead<"features"> {
  features: FeaturesSection;
}

/** A `branding` payload. */
export interface BrandingPayload extends PayloadHead<"branding"> {
  branding: BrandingSection;
}

/** An `smtp` payload. */
export interface SmtpPayload extends PayloadHead<"smtp"> {
  smtp: SmtpSection;
}

/** A `combined` payload: two or more sections in one request. */
export interface CombinedPayload extends PayloadHead<"combined"> {
  features?: FeaturesSection;
  branding?: BrandingSection;
  smtp?: SmtpSection;
}

/** A sync payload (JSON, unknown fields rejected), discriminated by `type`. */
export type SyncPayload = FeaturesPayload | BrandingPayload | SmtpPayload | CombinedPayload;

// ---------------------------------------------------------------------------------------------
// Results

/** Keys the edge's replay ledger stores for an accepted request. */
export interface ReplayKeys {
  /** Ledger key of the nonce (signed material only). */
  nonceKey: string;
  /** Ledger key of the payload hash. */
  payloadKey: string;
  /** Unix seconds after which both entries may be pruned. */
  expiresAt: number;
}

/** A request that passed every check that needs no storage (brief §3 steps 2–7). */
export interface Verified {
  ok: true;
  tenant: string;
  scheme: Scheme;
  /** The key that verified the signature. */
  keyId: string;
  keyVersion: number;
  /** `retiring` tells the operator a sender still uses an old key. */
  keyStatus: Exclude<KeyStatus, "revoked">;
  /** RFC 9421 `nonce` parameter or Standard Webhooks `webhook-id`. */
  nonce: string;
  /** Signature creation time, Unix seconds. */
  timestamp: number;
  /** Lowercase hex SHA-256 of the body. */
  payloadHash: string;
  payloadType: PayloadType;
  payloadVersion: number;
  /** The sections the payload carries. */
  sections: Section[];
  replay: ReplayKeys;
  /** The parsed, validated payload (with node:crypto hashing, built when first read). */
  payload: SyncPayload;
}

/** The answer of {@link verifyRequest}. */
export type Verdict = Verified | Failure;

/** A provider delivery whose signature (and, where signed, timestamp) verified. */
export interface VerifiedHook {
  ok: true;
  provider: Provider;
  /** The signed timestamp, Unix seconds; `null` for GitHub and Shopify, which sign none. */
  timestamp: number | null;
  /** The provider's id for the delivery (Stripe event id, `X-GitHub-Delivery`, `X-Shopify-Webhook-Id`), if any. */
  deliveryId: string | null;
  /** Whether the signature covers `deliveryId` (Stripe) or not (GitHub, Shopify). */
  deliveryIdSigned: boolean;
  /** What the edge's replay ledger de-duplicates the delivery on (see docs/providers.md). */
  deliveryKey: string;
  /** Stripe `type`, `X-GitHub-Event`, `X-Shopify-Topic`, HubSpot `subscriptionType`, Slack `type`. */
  eventType: string | null;
  /** Lowercase hex SHA-256 of the body. */
  bodySha256: string;
  /** The `Idempotency-Key` the edge forwards with: `hook-{provider}-{hex}`, from signed material. */
  idempotencyKey: string;
}

/** The answer of {@link verifyProviderWebhook}. */
export type HookVerdict = VerifiedHook | Failure;

/** RFC 9421 signature headers (lowercase names). */
export interface Rfc9421Headers {
  /** RFC 9530 `sha-256=:<base64>:` of the body. */
  "content-digest": string;
  "signature-input": string;
  signature: string;
}

/** Standard Webhooks headers. */
export interface StandardWebhooksHeaders {
  "webhook-id": string;
  /** Unix seconds. */
  "webhook-timestamp": string;
  /** `v1,<base64>`. */
  "webhook-signature": string;
}

/** A successful {@link signRequest}: set these headers on the request, replacing (case-insensitively) any of the same names. */
export interface Signed<H extends Rfc9421Headers | StandardWebhooksHeaders> {
  ok: true;
  headers: H;
}

/** The key to sign with. */
export interface SigningKey {
  kid: string;
  secret: WebhookSecret;
}

/** Options of {@link signRequest}. */
export interface SignOptions {
  /** Default `"rfc9421"`. */
  scheme?: Scheme;
  /** Signature time, Unix seconds. Default: the current time. */
  nowSeconds?: number;
  /** RFC 9421 `nonce` / Standard Webhooks `webhook-id`. Default: a random one. */
  nonce?: string;
  /** RFC 9421 signature label. Default `"sig1"`. */
  label?: string;
  /** RFC 9421 `expires` = created + this. Default: no `expires`. */
  expiresInSeconds?: number;
  /**
   * RFC 9421 components covered beyond the required `"@method"`, `"@path"` and
   * `"content-digest"`, e.g. `"@authority"`, `"@query"`, `"content-type"`.
   */
  components?: readonly string[];
  /** RFC 9421 `tag` parameter. */
  tag?: string;
}

/** The answer of {@link validatePayload}. */
export type PayloadCheck =
  | {
      ok: true;
      payloadType: PayloadType;
      payloadVersion: number;
      sections: Section[];
      payload: SyncPayload;
    }
  | Failure;

/** Why a module is (or is not) enabled. */
export type ModuleReason =
  | "plan_default"
  | "override_on"
  | "override_off"
  | `missing_dependency:${string}`
  | "blocked_group"
  | "not_in_plan";

/** The recomputed state of one module. */
export interface ModuleState {
  key: string;
  group: string;
  enabled: boolean;
  reason: ModuleReason;
  permissions: string[];
}

/** The answer of {@link recomputeModules}: every module once, sorted by key. */
export type ModuleRecomputation =
  | {
      ok: true;
      modules: ModuleState[];
      /** Sorted union of the permissions of enabled modules. */
      permissions: string[];
    }
  | Failure;

// ---------------------------------------------------------------------------------------------
// Functions

/**
 * Verifies a signed sync request against a tenant policy: headers, timestamp window, key,
 * Content-Digest, MAC, payload schema, tenant and scope. Replay and version checks need the
 * edge's ledger; the verdict's `replay` keys are what the edge stores.
 *
 * The one-shot form of {@link createVerifier}: compiles `policy` for this one call.
 *
 * @param nowSeconds Unix seconds to check the timestamp against. Default: the current time.
 */
export declare function verifyRequest(
  request: SyncRequest,
  policy: TenantPolicy,
  nowSeconds?: number,
): Verdict;

/**
 * What {@link Verifier.verifySignature} establishes: steps 1–5 only (signature headers,
 * timestamp window, key, Content-Digest, MAC). The payload is not parsed, so there is no
 * `payload`, `payloadType` or `replay`.
 */
export interface SignatureVerified {
  ok: true;
  tenant: string;
  scheme: Scheme;
  keyId: string;
  keyVersion: number;
  keyStatus: Exclude<KeyStatus, "revoked">;
  nonce: string;
  timestamp: number;
  /**
   * Lowercase hex SHA-256 of the body, present when the check hashed the body anyway: RFC 9421
   * (its Content-Digest covers the body). A Standard Webhooks check passes over the body once,
   * inside the MAC, and has none.
   */
  payloadHash?: string;
}

/** The answer of {@link Verifier.verifySignature}. */
export type SignatureVerdict = SignatureVerified | Failure;

/** Options of {@link createVerifier}. */
export interface VerifierOptions {
  /**
   * Who computes the SHA-256 and HMAC-SHA256 digests the core asks for: `"host"` (the default:
   * node:crypto in Node and in workerd with `nodejs_compat`, WebCrypto for the `…Async` methods
   * in browsers, else Rust) or `"rust"` (always the pure-Rust code in the wasm: the reference).
   * The verdicts are the same either way.
   */
  hashing?: "host" | "rust";
}

/** The methods of a compiled verifier. None throws; the `…Async` ones never reject. */
export interface VerifierMethods {
  /** Everything {@link verifyRequest} checks, with the same verdicts. */
  verify(request: SyncRequest, nowSeconds?: number): Verdict;
  /** Steps 1–5 only: headers, window, key, digest, MAC; no payload parse. */
  verifySignature(request: SyncRequest, nowSeconds?: number): SignatureVerdict;
  /** {@link VerifierMethods.verify} hashing with WebCrypto in browsers (the host elsewhere). */
  verifyAsync(request: SyncRequest, nowSeconds?: number): Promise<Verdict>;
  /** {@link VerifierMethods.verifySignature} hashing with WebCrypto in browsers. */
  verifySignatureAsync(request: SyncRequest, nowSeconds?: number): Promise<SignatureVerdict>;
  /** Releases the compiled policy now instead of at garbage collection; the verifier is then unusable. */
  free(): void;
}

/**
 * A tenant policy compiled once (parsed, checked, keys decoded, host key objects made). When
 * the policy does not compile, the verifier carries its failure (`ok: false`, `code`,
 * `status`, `message`, `field`) and every method answers that failure (after checking
 * `nowSeconds`, as {@link verifyRequest} does).
 */
export type Verifier = (VerifierMethods & { ok: true }) | (VerifierMethods & Failure);

/**
 * Compiles a tenant policy for verifying many requests: the policy is parsed and its keys are
 * decoded once, not per request, and in Node the body's digests are computed by node:crypto.
 * Never throws: a bad policy gives a verifier whose `ok` is false.
 */
export declare function createVerifier(policy: TenantPolicy, options?: VerifierOptions): Verifier;

/** Signs a request with the Standard Webhooks scheme. */
export declare function signRequest(
  request: SyncRequest,
  signing: SigningKey,
  options: SignOptions & { scheme: "standard-webhooks" },
): Signed<StandardWebhooksHeaders> | Failure;
/** Signs a request with RFC 9421 (`hmac-sha256`, covering `@method`, `@path`, `content-digest`). */
export declare function signRequest(
  request: SyncRequest,
  signing: SigningKey,
  options?: SignOptions & { scheme?: "rfc9421" },
): Signed<Rfc9421Headers> | Failure;
/** Signs a request with the scheme the options name. */
export declare function signRequest(
  request: SyncRequest,
  signing: SigningKey,
  options?: SignOptions,
): Signed<Rfc9421Headers> | Signed<StandardWebhooksHeaders> | Failure;

/**
 * Validates a sync payload (an object, a JSON string or UTF-8 bytes) against the schema and,
 * when a policy is given, its payload types and module groups.
 */
export declare function validatePayload(
  payload: SyncPayload | object | Body,
  policy?: TenantPolicy,
): PayloadCheck;

/**
 * Recomputes module state from a features section: plan defaults, overrides, transitive
 * dependencies and the policy's blocked groups (the defaults when no policy is given).
 * Deterministic: the edge, the origin and a browser agree to the byte.
 */
export declare function recomputeModules(
  features: FeaturesSection,
  policy?: TenantPolicy,
): ModuleRecomputation;

/**
 * The RFC 9530 `Content-Digest` header value of a body: `sha-256=:<base64>:`. Untyped callers
 * that pass something other than a {@link Body} get a {@link Failure} instead of a throw.
 */
export declare function contentDigest(body: Body): string;

// ---------------------------------------------------------------------------------------------
// Preview: what a verifier MACs

/** The RFC 9421 signature base (RFC 9421 §2.5) of one labelled signature. */
export interface Rfc9421SignatureBase {
  label: string;
  /** Covered component identifiers, in order. */
  components: string[];
  /** The `keyid`, `created` and `nonce` parameters (`null` when missing or ill-typed). */
  keyId: string | null;
  created: number | null;
  nonce: string | null;
  /** The lines the MAC is computed over, ending with `"@signature-params": …`. */
  base: string;
}

/** The answer of {@link signatureBase}. No MAC is checked and no key is needed. */
export type SignatureBasePreview =
  | {
      ok: true;
      scheme: "rfc9421";
      /** One per labelled signature, in `Signature-Input` order. */
      signatures: Rfc9421SignatureBase[];
      /** The `Content-Digest` the body has (`sha-256=:<base64>:`). */
      contentDigest: string;
      /** Whether the request's `Content-Digest` header equals it. */
      digestMatches: boolean;
    }
  | {
      ok: true;
      scheme: "standard-webhooks";
      id: string;
      timestamp: string;
      /** The signed content, `${id}.${timestamp}.${body}` (the body as UTF-8 text). */
      base: string;
    }
  | Failure;

/**
 * The signature base a verifier rebuilds for a signed request: for RFC 9421 every labelled
 * signature's base and whether `Content-Digest` matches the body, for Standard Webhooks the
 * signed content. A request with neither is `missing_signature`.
 */
export declare function signatureBase(request: SyncRequest): SignatureBasePreview;

/**
 * Verifies a provider webhook delivery with the provider's own scheme: HubSpot v3
 * (`X-HubSpot-Signature-v3`, 5-minute window), Stripe (`Stripe-Signature`, 5-minute tolerance,
 * any `v1` entry), GitHub (`X-Hub-Signature-256`), Slack (`X-Slack-Signature` v0, 5-minute
 * window) or Shopify (`X-Shopify-Hmac-Sha256`). Replay needs the edge's ledger.
 *
 * @param secret The provider's secret, as the provider shows it.
 * @param nowSeconds Unix seconds to check a signed timestamp against. Default: the current time.
 */
export declare function verifyProviderWebhook(
  provider: Provider,
  request: SyncRequest,
  secret: string,
  nowSeconds?: number,
): HookVerdict;
