// Sign a syncgate sync payload with off-the-shelf npm libraries and send it to the edge.
//
//   node target/signing-ts/send-sync.js --edge http://127.0.0.1:8787 --instance acme-eu1 \
//     --kid acme-2026-11 --secret whsec_... [--scheme rfc9421|standard-webhooks] payload.json
//
// RFC 9421 goes through `http-message-signatures` (HMAC-SHA256 over "@method", "@path" and
// "content-digest", with `created`, `nonce` and `keyid`); the RFC 9530 `Content-Digest` is one
// SHA-256 from node:crypto. Standard Webhooks goes through `standardwebhooks` (`webhook-id`,
// `webhook-timestamp`, `webhook-signature`). Both use the key's `whsec_` secret; the HMAC key is
// its base64-decoded part. Nothing here is specific to syncgate but the URL.
//
// Prints one JSON line {"status": …, "body": …} with the edge's answer; exits 0 on a 2xx.
// `--tamper` changes one byte of the body after signing (the edge must refuse it).
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { createSigner, httpbis } from "http-message-signatures";
import { Webhook } from "standardwebhooks";

type Headers = Record<string, string>;

/** The HMAC key of a `whsec_<base64>` secret: the decoded bytes. */
export function hmacKey(secret: string): Buffer {
  return Buffer.from(secret.replace(/^whsec_/, ""), "base64");
}

/** RFC 9530 `Content-Digest` with sha-256. */
export function contentDigest(body: Buffer): string {
  return `sha-256=:${createHash("sha256").update(body).digest("base64")}:`;
}

/** `Content-Digest`, `Signature-Input` and `Signature` for a POST of `body` to `url`. */
export async function signRfc9421(url: string, body: Buffer, kid: string, secret: string, now: Date): Promise<Headers> {
  const request = {
    method: "POST",
    url,
    headers: { "content-type": "application/json", "content-digest": contentDigest(body) } as Headers,
  };
  const signed = await httpbis.signMessage({
    key: createSigner(hmacKey(secret), "hmac-sha256", kid),
    name: "sig1",
    fields: ["@method", "@path", "content-digest"],
    params: ["created", "nonce", "keyid", "alg"],
    paramValues: { created: now, nonce: randomBytes(16).toString("hex") },
  }, request);
  return signed.headers as Headers;
}

/** `webhook-id`, `webhook-timestamp` and `webhook-signature` for `body`. */
export function signStandardWebhooks(body: Buffer, secret: string, now: Date): Headers {
  const id = `msg_${randomBytes(12).toString("hex")}`;
  return {
    "content-type": "application/json",
    "webhook-id": id,
    "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
    "webhook-signature": new Webhook(secret).sign(id, now, body),
  };
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      edge: { type: "string" },
      instance: { type: "string" },
      kid: { type: "string" },
      secret: { type: "string" },
      scheme: { type: "string", default: "rfc9421" },
      tamper: { type: "boolean", default: false },
    },
  });
  const { edge, instance, kid, secret, scheme } = values;
  const file = positionals[0];
  if (!edge || !instance || !kid || !secret || !file || (scheme !== "rfc9421" && scheme !== "standard-webhooks")) {
    process.stderr.write("usage: send-sync --edge URL --instance CODE --kid KID --secret whsec_… [--scheme rfc9421|standard-webhooks] [--tamper] FILE\n");
    return 2;
  }
  let body = readFileSync(file);
  const url = `${edge.replace(/\/$/, "")}/v1/${encodeURIComponent(instance)}/sync`;
  const now = new Date();
  const headers = scheme === "rfc9421"
    ? await signRfc9421(url, body, kid, secret, now)
    : signStandardWebhooks(body, secret, now);
  if (values.tamper) body = Buffer.from(body.toString("utf8").replace("}", " }"));

  const res = await fetch(url, { method: "POST", headers, body });
  const text = await res.text();
  let answer: unknown = text;
  try {
    answer = JSON.parse(text);
  } catch {
    // not JSON: printed as text
  }
  process.stdout.write(`${JSON.stringify({ status: res.status, body: answer })}\n`);
  return res.ok ? 0 : 1;
}

process.exitCode = await main();
