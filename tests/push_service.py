"""TEST ONLY: a local HTTPS push service and a browser's side of a subscription.

The service stands where a browser vendor's push service would: it checks the
VAPID signature (RFC 8292) of every push, decrypts its payload as the browser
would (RFC 8291, aes128gcm of RFC 8188), and answers 201, or 410 for an
endpoint marked gone, or a redirect for one marked so. Decryption and the
signature check are written here from the RFCs with ``cryptography``, not
with the library that encrypts and signs, so the two are checked against
each other. Its certificate comes from a local CA (trustme), which the app
trusts only through the test-only setting PUSH_TEST_CA.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import trustme
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class BrowserKeys:
    """What a browser keeps for one subscription: its P-256 key pair and auth secret."""

    private: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def p256dh(self) -> str:
        return b64(self.private.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint))

    @property
    def auth_b64(self) -> str:
        return b64(self.auth)

    def decrypt(self, body: bytes) -> bytes:
        """RFC 8291 section 3.4 and RFC 8188: one aes128gcm record."""
        salt, record_size, id_length = body[:16], struct.unpack(">I", body[16:20])[0], body[20]
        sender_public = body[21:21 + id_length]
        ciphertext = body[21 + id_length:]
        assert id_length == 65 and len(ciphertext) <= record_size
        sender = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), sender_public)
        shared = self.private.exchange(ec.ECDH(), sender)
        receiver_public = unb64(self.p256dh)
        ikm = HKDF(hashes.SHA256(), 32, salt=self.auth,
                   info=b"WebPush: info\x00" + receiver_public + sender_public).derive(shared)
        key = HKDF(hashes.SHA256(), 16, salt=salt, info=b"Content-Encoding: aes128gcm\x00").derive(ikm)
        nonce = HKDF(hashes.SHA256(), 12, salt=salt, info=b"Content-Encoding: nonce\x00").derive(ikm)
        padded = AESGCM(key).decrypt(nonce, ciphertext, None)
        stripped = padded.rstrip(b"\x00")
        assert stripped[-1:] == b"\x02", "the last record ends with the delimiter 2"
        return stripped[:-1]


def check_vapid(authorization: str, audience: str) -> dict:
    """RFC 8292: ``vapid t=<JWT>, k=<public key>``; the JWT is ES256, for
    this audience, expiring within 24 hours. Returns the claims and the key."""
    scheme, _sep, params = authorization.partition(" ")
    assert scheme.lower() == "vapid", authorization
    values = dict(part.strip().split("=", 1) for part in params.split(","))
    token, key = values["t"], values["k"]
    head, claims, signature = token.split(".")
    assert json.loads(unb64(head)) == {"typ": "JWT", "alg": "ES256"}
    raw = unb64(signature)
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(key))
    public.verify(encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")),
                  f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    claims = json.loads(unb64(claims))
    assert claims["aud"] == audience, claims
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600, claims
    assert claims["sub"].startswith(("mailto:", "https://")), claims
    return claims | {"k": key}


@dataclass
class Received:
    path: str
    headers: dict
    payload: dict | None = None
    claims: dict | None = None
    problem: str | None = None


class PushService:
    """A threaded HTTPS server on 127.0.0.1. ``gone`` paths answer 404 or 410,
    ``redirects`` {path: location} answer 307; every request is recorded."""

    def __init__(self, ca: trustme.CA, ca_file: str):
        self.ca_file = ca_file
        self.received: list[Received] = []
        self.keys: dict[str, BrowserKeys] = {}
        self.gone: dict[str, int] = {}  # path: 404 or 410
        self.redirects: dict[str, str] = {}
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                seen = Received(self.path, {k.lower(): v for k, v in self.headers.items()})
                service.received.append(seen)
                try:
                    seen.claims = check_vapid(self.headers["Authorization"], "https://" + self.headers["Host"])
                    keys = service.keys.get(self.path)
                    if keys is not None:
                        seen.payload = json.loads(keys.decrypt(body))
                except (AssertionError, AttributeError, InvalidSignature, KeyError, ValueError) as error:
                    seen.problem = f"{type(error).__name__}: {error}"
                if self.path in service.redirects:
                    self.send_response(307)
                    self.send_header("Location", service.redirects[self.path])
                elif self.path in service.gone:
                    self.send_response(service.gone[self.path])
                else:
                    self.send_response(400 if seen.problem else 201)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.origin = f"https://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def subscription(self, name: str, host: str = "127.0.0.1") -> tuple[str, BrowserKeys]:
        """A new endpoint on this service, with the keys of the browser that holds it."""
        path = f"/push/{name}"
        self.keys[path] = BrowserKeys()
        return f"https://{host}:{self.port}{path}", self.keys[path]

    def at(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
