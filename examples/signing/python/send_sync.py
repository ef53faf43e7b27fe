"""Sign a syncgate sync payload with off-the-shelf Python libraries and send it to the edge.

    python send_sync.py --edge http://127.0.0.1:8787 --instance acme-eu1 \
        --kid acme-2026-11 --secret whsec_... [--scheme rfc9421|standard-webhooks] payload.json

RFC 9421 goes through ``http-message-signatures`` (HMAC-SHA256 over ``"@method"``, ``"@path"``
and ``"content-digest"``, with ``created``, ``nonce`` and ``keyid``; the library adds the RFC 9530
``Content-Digest``). Standard Webhooks goes through ``standardwebhooks`` (``webhook-id``,
``webhook-timestamp``, ``webhook-signature``). Both use the key's ``whsec_`` secret; the HMAC key
is its base64-decoded part. Nothing here is specific to syncgate but the URL.

Prints one JSON line ``{"status": …, "body": …}`` with the edge's answer; exits 0 on a 2xx.
``--tamper`` changes one byte of the body after signing (the edge must refuse it).
"""

from __future__ import annotations

import argparse
import base64
import datetime
import json
import secrets
import sys
import urllib.error
import urllib.parse
import urllib.request

from http_message_signatures import HTTPMessageSigner, MappingKeyResolver, algorithms
from standardwebhooks.webhooks import Webhook


class Request:
    """The message interface http-message-signatures signs: method, absolute URL, headers."""

    def __init__(self, method: str, url: str, headers: dict[str, str]) -> None:
        self.method = method
        self.url = url
        self.headers = headers


def hmac_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret: the decoded bytes."""
    return base64.b64decode(secret.removeprefix("whsec_"))


def sign_rfc9421(url: str, body: bytes, kid: str, secret: str, now: datetime.datetime) -> dict[str, str]:
    """``Content-Digest``, ``Signature-Input`` and ``Signature`` for a POST of ``body`` to ``url``."""
    request = Request("POST", url, {"Content-Type": "application/json"})
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.HMAC_SHA256,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={kid: hmac_key(secret)}),
    )
    signer.sign(
        request,
        key_id=kid,
        created=now,
        nonce=secrets.token_hex(16),
        label="sig1",
        covered_component_ids=("@method", "@path", "content-digest"),
        body=body,
        use_existing_digest=True,
    )
    return request.headers


def sign_standard_webhooks(body: bytes, secret: str, now: datetime.datetime) -> dict[str, str]:
    """``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` for ``body``."""
    message_id = f"msg_{secrets.token_hex(12)}"
    signature = Webhook(secret).sign(message_id, now, body.decode("utf-8"))
    return {
        "Content-Type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edge", required=True, help="base URL of the edge, e.g. http://127.0.0.1:8787")
    parser.add_argument("--instance", required=True)
    parser.add_argument("--kid", required=True, help="key id (RFC 9421 keyid)")
    parser.add_argument("--secret", required=True, help="the key's whsec_ secret")
    parser.add_argument("--scheme", choices=["rfc9421", "standard-webhooks"], default="rfc9421")
    parser.add_argument("--tamper", action="store_true", help="flip one body byte after signing")
    parser.add_argument("payload", help="JSON payload file")
    args = parser.parse_args()

    with open(args.payload, "rb") as f:
        body = f.read()
    url = f"{args.edge.rstrip('/')}/v1/{urllib.parse.quote(args.instance)}/sync"
    now = datetime.datetime.now(tz=datetime.timezone.utc)
    if args.scheme == "rfc9421":
        headers = sign_rfc9421(url, body, args.kid, args.secret, now)
    else:
        headers = sign_standard_webhooks(body, args.secret, now)
    if args.tamper:
        body = body.replace(b"}", b" }", 1)

    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, text = response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as refused:
        status, text = refused.code, refused.read().decode("utf-8")
    try:
        answer = json.loads(text)
    except ValueError:
        answer = text
    print(json.dumps({"status": status, "body": answer}))
    return 0 if 200 <= status < 300 else 1


if __name__ == "__main__":
    sys.exit(main())
