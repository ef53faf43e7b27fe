// Type-level tests of the package's hand-written declarations. Compiled by types.test.mjs with
// `tsc --noEmit --strict` from inside the consumer project, once per module resolution mode; the
// `@ts-expect-error` lines must stay errors (misuse is caught), everything else must compile.
import {
  contentDigest, createVerifier, recomputeModules, signRequest, validatePayload, verifyRequest,
} from "syncgate";
import type {
  Failure, ModuleState, SignatureVerdict, SyncPayload, SyncRequest, TenantPolicy, Verdict,
} from "syncgate";

const policy: TenantPolicy = {
  instance: "acme-eu1",
  tenant: "acme",
  keys: [{ kid: "k1", version: 1, status: "active", secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }],
};
// @ts-expect-error a secret must be a whsec_ string
const badKey: TenantPolicy = { instance: "a1", tenant: "a", keys: [{ kid: "k", version: 1, status: "active", secret: "plain" }] };
// @ts-expect-error unknown status
const badStatus: TenantPolicy = { instance: "a1", tenant: "a", keys: [{ kid: "k", version: 1, status: "old", secret: "whsec_AA" }] };

const request: SyncRequest = {
  method: "POST",
  url: "https://edge.example/v1/acme-eu1/sync",
  headers: { "content-type": "application/json" },
  body: new Uint8Array([123, 125]),
};

const signed = signRequest(request, { kid: "k1", secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" });
if (signed.ok) {
  const input: string = signed.headers["signature-input"];
  const digest: string = signed.headers["content-digest"];
  void input; void digest;
} else {
  const code: Failure["code"] = signed.code;
  void code;
}
const webhook = signRequest(request, { kid: "k1", secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }, {
  scheme: "standard-webhooks", nowSeconds: 1_700_000_000, nonce: "msg_1",
});
if (webhook.ok) {
  const sig: string = webhook.headers["webhook-signature"];
  // @ts-expect-error a standard-webhooks signature has no signature-input
  const none: string = webhook.headers["signature-input"];
  void sig; void none;
}

const verdict: Verdict = verifyRequest(request, policy, 1_700_000_000);
// @ts-expect-error keyId only exists once `ok` is narrowed to true
void verdict.keyId;
if (verdict.ok) {
  const scheme: "rfc9421" | "standard-webhooks" = verdict.scheme;
  const version: number = verdict.keyVersion;
  const status: "active" | "retiring" = verdict.keyStatus;
  const hash: string = verdict.payloadHash;
  const expires: number = verdict.replay.expiresAt;
  const payload: SyncPayload = verdict.payload;
  if (payload.type === "branding") {
    const title: string | undefined = payload.branding.title;
    void title;
  }
  void scheme; void version; void status; void hash; void expires;
} else {
  if (verdict.code === "invalid_signature") {
    const status: 401 = verdict.status;
    void status;
  }
  if (verdict.code === "payload_too_large") {
    const status: 413 = verdict.status;
    void status;
  }
  // @ts-expect-error not a rejection code
  if (verdict.code === "bad_signature") void 0;
  const field: string | undefined = verdict.field;
  void field;
}

const checked = validatePayload({ type: "branding", tenant: "acme", version: 2, branding: { title: "Acme" } }, policy);
if (checked.ok) {
  const sections: ("features" | "branding" | "smtp")[] = checked.sections;
  void sections;
}
validatePayload("{}");
validatePayload(new Uint8Array(0));

const modules = recomputeModules({ plan: "pro", modules: [{ key: "crm.core", group: "crm" }], planDefaults: { pro: ["crm.core"] } });
if (modules.ok) {
  const first: ModuleState | undefined = modules.modules[0];
  if (first && first.reason !== "plan_default" && first.reason.startsWith("missing_dependency:")) {
    const enabled: boolean = first.enabled;
    void enabled;
  }
  const perms: string[] = modules.permissions;
  void perms;
}
// @ts-expect-error features need a plan and modules
recomputeModules({ modules: [] });

const d: string = contentDigest("hello");
// @ts-expect-error a body is bytes or a string
contentDigest(42);

void badKey; void badStatus; void d;

// A compiled verifier: ok narrows it; its methods exist either way and never throw.
const verifier = createVerifier(policy, { hashing: "host" });
if (!verifier.ok) {
  const why: Failure["code"] = verifier.code;
  void why;
}
const full: Verdict = verifier.verify(request, 1_790_000_000);
const sigOnly: SignatureVerdict = verifier.verifySignature(request);
if (sigOnly.ok) {
  const hash: string | undefined = sigOnly.payloadHash;
  void hash;
  // @ts-expect-error a signature-only verdict has no payload
  void sigOnly.payload;
}
const later: Promise<Verdict> = verifier.verifyAsync(request);
const laterSig: Promise<SignatureVerdict> = verifier.verifySignatureAsync(request, 1);
void full; void later; void laterSig;
// @ts-expect-error hashing is "host" or "rust"
createVerifier(policy, { hashing: "webcrypto" });
verifier.free();
