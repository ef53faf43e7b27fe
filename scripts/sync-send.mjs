#!/usr/bin/env node
// Signs a sync payload with the `syncgate` package and sends it to an edge instance.
//
//   node scripts/sync-send.mjs --edge http://127.0.0.1:8787 --instance demo-eu1 \
//     --kid demo-2026-11 --secret whsec_… [--scheme rfc9421|standard-webhooks] payload.json
//
// The payload's `version` is replaced by the current Unix time unless --keep-version is given,
// so the command can be pasted again and again (a version must grow, brief §3).
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { signRequest } from "../pkg/syncgate.mjs";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    edge: { type: "string", default: "http://127.0.0.1:8787" },
    instance: { type: "string" },
    kid: { type: "string" },
    secret: { type: "string" },
    scheme: { type: "string", default: "rfc9421" },
    "keep-version": { type: "boolean", default: false },
  },
});
if (!values.instance || !values.kid || !values.secret || positionals.length !== 1) {
  console.error("usage: sync-send.mjs --instance CODE --kid KID --secret whsec_… [--edge URL] [--scheme S] payload.json");
  process.exit(2);
}
const payload = JSON.parse(readFileSync(positionals[0], "utf8"));
if (!values["keep-version"]) payload.version = Math.floor(Date.now() / 1000);
const body = JSON.stringify(payload);
const url = `${values.edge.replace(/\/$/, "")}/v1/${values.instance}/sync`;
const request = { method: "POST", url, headers: { "content-type": "application/json" }, body };
const signed = signRequest(request, { kid: values.kid, secret: values.secret }, { scheme: values.scheme });
if (!signed.ok) {
  console.error(`cannot sign: ${signed.code}: ${signed.message}`);
  process.exit(1);
}
const response = await fetch(url, { method: "POST", headers: { ...request.headers, ...signed.headers }, body });
console.log(`${response.status} ${await response.text()}`);
process.exit(response.ok ? 0 : 1);
