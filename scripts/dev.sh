#!/usr/bin/env bash
# `make dev`: the whole gateway on this machine.
#
#   edge    http://127.0.0.1:8787  wrangler dev: the worker in local workerd, local KV and
#                                  SQLite-backed Durable Objects (state in .wrangler/state)
#   origin  http://127.0.0.1:8788  the reference origin CRM (SQLite in .origin/dev.sqlite)
#
# Secrets live in .dev.vars (git-ignored; generated when missing): ADMIN_TOKEN for the admin API,
# SEALING_KEY for the secrets stored in KV, ORIGIN_SIGNING_SECRET shared by edge and origin.
# A demo instance `demo-eu1` (tenant `demo`) is created with a signing key and an API key, and
# ready-to-paste commands are printed. Ctrl-C stops both servers and everything they started.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

EDGE=http://127.0.0.1:8787
ORIGIN=http://127.0.0.1:8788
INSTANCE=demo-eu1
TENANT=demo
KID=demo-2026-11

rand_hex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }
rand_b64() { head -c "$1" /dev/urandom | base64 | tr -d '\n'; }

# 1. Secrets: create .dev.vars, or add what an older one lacks; never print them.
touch .dev.vars
chmod 600 .dev.vars
grep -q '^ADMIN_TOKEN=' .dev.vars || echo "ADMIN_TOKEN=$(rand_hex 24)" >> .dev.vars
grep -q '^SEALING_KEY=' .dev.vars || echo "SEALING_KEY=$(rand_b64 32)" >> .dev.vars
grep -q '^ORIGIN_SIGNING_SECRET=' .dev.vars || echo "ORIGIN_SIGNING_SECRET=whsec_$(rand_b64 32)" >> .dev.vars
ADMIN_TOKEN=$(sed -n 's/^ADMIN_TOKEN=//p' .dev.vars)
mkdir -p .origin
DEMO_ENV=.origin/demo.env
[ -f "$DEMO_ENV" ] || echo "DEMO_SIGNING_SECRET=whsec_$(rand_b64 32)" > "$DEMO_ENV"
DEMO_SECRET=$(sed -n 's/^DEMO_SIGNING_SECRET=//p' "$DEMO_ENV")

for port in 8787 8788; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port is already in use (another make dev?); stop it first" >&2
    exit 1
  fi
done

# 2. Start both in their own process groups so Ctrl-C can stop everything they spawn.
pids=()
cleanup() {
  trap - EXIT INT TERM
  trap '' PIPE # the terminal or a pipe may be gone already; stopping must not depend on it
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  sleep 1
  for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  echo "stopped edge and origin" >&2 || true
}
trap cleanup EXIT INT TERM

cargo build -q -p syncgate-origin -p syncgate-cli
ORIGIN_BIN="${CARGO_TARGET_DIR:-target}/debug/syncgate-origin"
CLI_BIN="${CARGO_TARGET_DIR:-target}/debug/syncgate"
setsid "$ORIGIN_BIN" --listen 127.0.0.1:8788 --db .origin/dev.sqlite \
  --dev-vars .dev.vars > .origin/origin.log 2>&1 &
pids+=($!)

export WASM_BINDGEN_BIN WASM_OPT_BIN ESBUILD_BIN WRANGLER_SEND_METRICS=false
WASM_BINDGEN_BIN=$(command -v wasm-bindgen)
WASM_OPT_BIN=$PWD/node_modules/.bin/wasm-opt
ESBUILD_BIN=$PWD/node_modules/.bin/esbuild
echo "starting the edge (wrangler dev builds the worker first; about a minute)"
setsid node_modules/.bin/wrangler dev --port 8787 --ip 127.0.0.1 > .origin/edge.log 2>&1 &
pids+=($!)

wait_for() {
  local url=$1 what=$2
  for _ in $(seq 1 300); do
    if curl -s -o /dev/null "$url"; then return 0; fi
    for pid in "${pids[@]}"; do
      kill -0 "$pid" 2>/dev/null || { echo "$what stopped; see .origin/*.log" >&2; tail -20 .origin/edge.log >&2; exit 1; }
    done
    sleep 1
  done
  echo "$what did not start in 5 minutes; see .origin/*.log" >&2
  exit 1
}
wait_for "$ORIGIN/healthz" origin
wait_for "$EDGE/v1/$INSTANCE/sync/health" edge

# 3. The demo instance, its signing key and a read/write API key.
admin() { curl -sS -X "$1" "$EDGE/admin/v1/instances/$INSTANCE$2" \
  -H "authorization: Bearer $ADMIN_TOKEN" -H 'content-type: application/json' ${3:+-d "$3"}; }
admin PUT "" "{\"instance\":\"$INSTANCE\",\"tenant\":\"$TENANT\",\"origin\":\"$ORIGIN\",
  \"keys\":[{\"kid\":\"$KID\",\"version\":1,\"status\":\"active\",\"secret\":\"$DEMO_SECRET\"}]}" > /dev/null
API_KEY=$(admin POST /api-keys '{"scopes":["sync:read","customers:read","customers:write"],"name":"make dev"}' \
  | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).key))')

cat <<EOF

syncgate is running
  edge    $EDGE      (wrangler dev, local workerd; log .origin/edge.log)
  origin  $ORIGIN      (reference CRM, SQLite; log .origin/origin.log)
  admin token in .dev.vars (ADMIN_TOKEN)

Send a signed payload (run again to send a newer version):
  node scripts/sync-send.mjs --instance $INSTANCE --kid $KID --secret $DEMO_SECRET examples/payloads/combined.json

The same with the syncgate CLI (docs/cli.md): sign with a fresh version, print a curl command, run it:
  sed "s/\"version\": 1/\"version\": \$(date +%s)/" examples/payloads/combined.json \\
    | $CLI_BIN sign --curl --url $EDGE/v1/$INSTANCE/sync --kid $KID --secret $DEMO_SECRET - | sh
  SYNCGATE_ADMIN_TOKEN=\$(sed -n 's/^ADMIN_TOKEN=//p' .dev.vars) $CLI_BIN admin get-instance --instance $INSTANCE

Then read what the CRM shows and what the edge recorded:
  curl -s $EDGE/v1/$INSTANCE/bootstrap -H 'authorization: Bearer $API_KEY'
  curl -s $EDGE/v1/$INSTANCE/sync/status -H 'authorization: Bearer $API_KEY'
  curl -s $EDGE/v1/$INSTANCE/sync/logs?limit=5 -H 'authorization: Bearer $API_KEY'
  curl -s $EDGE/v1/$INSTANCE/sync/health

Ctrl-C stops everything.
EOF
wait
