"""Web Push: a notice that comes right away also comes to the person's
devices that asked for it.

A push is queued (``push_outbox``) where the notice is mailed right away
(``domain.send_now``): so it obeys the same settings and quiet hours as the
mail, and is written in the same unit as the change that causes it. The job
runner sends it with pywebpush, signed with the VAPID key every server
shares (instance/vapid_private_key or VAPID_PRIVATE_KEY).

The payload is minimal (a title, a short line, a path): it passes through the
browser vendors' push services. A push service that says a subscription is
gone (404, 410) has it deleted.

The server must never be made to call into its own network: an endpoint is
https only, its host is resolved when the push is sent and every address
checked (no private, loopback, link-local or otherwise non-global address),
the connection goes to the address that was checked, and redirects are not
followed. ``PUSH_TEST_CA`` (tests only) allows loopback with a local CA.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import ipaddress
import json
import logging
import re
import socket
from email.utils import parseaddr
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from flask import current_app
from py_vapid import Vapid, VapidException
from pywebpush import WebPushException, webpush
from requests.adapters import HTTPAdapter
from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from urllib3.connection import HTTPSConnection
from urllib3.connectionpool import HTTPSConnectionPool
from urllib3.util.connection import create_connection

from ..database import utcnow, write_unit
from ..extensions import db
from .models import PushMessage, PushSubscription

log = logging.getLogger(__name__)

MAX_DEVICES = 20  # per person; a new one beyond replaces the oldest
MAX_ATTEMPTS = 6
LEASE = dt.timedelta(minutes=2)  # far longer than one send (timeout 10 s)
SHORT_LINE = 120  # characters of the notice's text in a push


class RefusedEndpoint(Exception):
    """A push endpoint we will not call: not https, an address inside a
    network, or a redirect. Not an OSError, so no HTTP library retries it."""


# --- the keys --------------------------------------------------------------------------

def _vapid() -> Vapid:
    key = current_app.config["VAPID_PRIVATE_KEY"]
    found = current_app.extensions.get("communitarium.vapid")
    if found is None or found[0] != key:
        found = current_app.extensions["communitarium.vapid"] = (key, Vapid.from_string(private_key=key))
    return found[1]


def public_key() -> str:
    """The key a browser subscribes with (applicationServerKey), base64url."""
    raw = _vapid().public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def subject() -> str:
    """Who runs this server, for the push services: VAPID_SUBJECT, else the
    site when it is https, else the sender address of our mail."""
    config = current_app.config
    if config.get("VAPID_SUBJECT"):
        return config["VAPID_SUBJECT"]
    if config["BASE_URL"].startswith("https://"):
        return config["BASE_URL"].rstrip("/")
    return "mailto:" + (parseaddr(config["MAIL_FROM"])[1] or "noreply@localhost")


# --- devices ---------------------------------------------------------------------------

def _b64(value: str, size: int) -> bool:
    if not value or len(value) > 200 or not re.fullmatch(r"[A-Za-z0-9_\-]+=*", value):
        return False
    try:
        return len(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))) == size
    except (binascii.Error, ValueError):
        return False


def valid_subscription(endpoint: str, p256dh: str, auth: str) -> bool:
    """What a browser sends when it subscribes: an https endpoint, its P-256
    public key (65 bytes, uncompressed) and a 16-byte secret."""
    if not endpoint or len(endpoint) > 1000 or not endpoint.isascii() or not endpoint.isprintable():
        return False
    parts = urlsplit(endpoint)
    if parts.scheme != "https" or not parts.hostname or "@" in parts.netloc:
        return False
    return _b64(p256dh, 65) and _b64(auth, 16)


_BROWSERS = (("Edg/", "Edge"), ("SamsungBrowser", "Samsung Internet"), ("Firefox", "Firefox"),
             ("OPR/", "Opera"), ("Chrome", "Chrome"), ("Chromium", "Chromium"), ("Safari", "Safari"))
_SYSTEMS = (("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"), ("Windows", "Windows"),
            ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))


def device_name(user_agent: str) -> str:
    """"Firefox on Android": enough to tell one's devices apart in the list."""
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), None)
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), None)
    if browser and system:
        return f"{browser} · {system}"
    return browser or system or "?"


def subscribe(user, endpoint: str, p256dh: str, auth: str, user_agent: str) -> PushSubscription:
    """This device gets ``user``'s pushes, in the caller's unit. A device has
    one subscription (its endpoint): subscribing again renews it, and a
    device someone else had subscribed on becomes this person's."""
    found = db.session.scalar(select(PushSubscription).where(PushSubscription.endpoint == endpoint))
    device = device_name(user_agent or "")
    if found is None:
        found = PushSubscription(user_id=user.id, endpoint=endpoint, p256dh=p256dh, auth=auth, device=device)
        try:
            with db.session.begin_nested():  # the same device subscribing twice at once: the key refuses one
                db.session.add(found)
        except IntegrityError:
            found = db.session.scalar(select(PushSubscription).where(PushSubscription.endpoint == endpoint))
    if found.user_id != user.id:
        db.session.execute(delete(PushMessage).where(PushMessage.subscription_id == found.id))
    found.user_id, found.p256dh, found.auth, found.device = user.id, p256dh, auth, device
    db.session.flush()
    too_many = list(db.session.scalars(
        select(PushSubscription.id).where(PushSubscription.user_id == user.id)
        .order_by(PushSubscription.created_at.desc(), PushSubscription.id.desc()).offset(MAX_DEVICES)))
    if too_many:
        db.session.execute(delete(PushSubscription).where(PushSubscription.id.in_(too_many)))
    return found


def devices(user) -> list[PushSubscription]:
    return list(db.session.scalars(select(PushSubscription).where(PushSubscription.user_id == user.id)
                                   .order_by(PushSubscription.created_at, PushSubscription.id)))


def remove(user, subscription_id: int) -> bool:
    """Stop pushes to one of the person's devices; in the caller's unit."""
    return db.session.execute(delete(PushSubscription).where(
        PushSubscription.id == subscription_id, PushSubscription.user_id == user.id)).rowcount == 1


def account_deleted(user) -> None:
    db.session.execute(delete(PushSubscription).where(PushSubscription.user_id == user.id))


# --- queueing --------------------------------------------------------------------------

def short_line(text: str) -> str:
    first = next((p for p in re.split(r"\n\s*\n", text or "") if p.strip()), "")
    first = " ".join(first.split())
    return first if len(first) <= SHORT_LINE else first[:SHORT_LINE - 1].rstrip() + "…"


def queue(notice, recipient) -> int:
    """A push of ``notice`` to each of the recipient's devices, in the
    caller's unit (that of the notice's mail). Returns how many."""
    ids = list(db.session.scalars(select(PushSubscription.id).where(PushSubscription.user_id == recipient.id)))
    path = notice.url if notice.url and notice.url.startswith("/") and not notice.url.startswith("//") \
        else "/notices"
    for subscription_id in ids:
        db.session.add(PushMessage(subscription_id=subscription_id, title=notice.subject[:200],
                                   body=short_line(notice.body), path=path[:500]))
    return len(ids)


def payload(message: PushMessage) -> str:
    """All a push carries: a title, a short line and the path to open."""
    return json.dumps({"title": message.title, "body": message.body, "path": message.path},
                      ensure_ascii=False, separators=(",", ":"))


# --- the guarded connection ------------------------------------------------------------

def check_address(address: str, allow_loopback: bool = False) -> None:
    """:raise RefusedEndpoint: the address is not on the public internet."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if allow_loopback and ip.is_loopback:
        return
    if not ip.is_global or ip.is_multicast or ip.is_private or ip.is_loopback or ip.is_link_local:
        raise RefusedEndpoint(f"the push endpoint's address {ip} is not on the public internet")


def precheck(endpoint: str, allow_loopback: bool = False) -> None:
    """Before any signing or connecting: https, and a host given as an
    address is checked as it is (names are resolved at connection time).

    :raise RefusedEndpoint:"""
    parts = urlsplit(endpoint)
    if parts.scheme != "https" or not parts.hostname:
        raise RefusedEndpoint("a push endpoint must be https")
    try:
        literal = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return
    check_address(str(literal), allow_loopback)


def _guarded_connection(allow_loopback: bool):
    class GuardedConnection(HTTPSConnection):
        """Resolves the host itself, checks every address, and connects to
        one it checked: a name cannot resolve to one address for the check
        and another for the connection. TLS still verifies the host name."""

        def _new_conn(self):
            # A name that does not resolve now may tomorrow (a DNS outage): that
            # error is left to fail the send, which is tried again later.
            found = socket.getaddrinfo(self._dns_host, self.port, type=socket.SOCK_STREAM)
            addresses = list(dict.fromkeys(info[4][0] for info in found))
            for address in addresses:
                check_address(address, allow_loopback)
            return create_connection((addresses[0], self.port), self.timeout,
                                     source_address=self.source_address, socket_options=self.socket_options)

    class GuardedPool(HTTPSConnectionPool):
        ConnectionCls = GuardedConnection

    return GuardedPool


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, allow_loopback: bool):
        self._pool = _guarded_connection(allow_loopback)
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"https": self._pool}


class GuardedSession(requests.Session):
    """The only way a push leaves: https, checked addresses, no redirects,
    no proxies or credentials from the environment."""

    def __init__(self, test_ca: str | None = None):
        super().__init__()
        self.trust_env = False
        self.verify = test_ca or True
        self.mount("https://", _GuardedAdapter(allow_loopback=bool(test_ca)))

    def request(self, method, url, *args, **kwargs):
        precheck(url, self.verify is not True)
        kwargs["allow_redirects"] = False  # a redirect is answered as a refusal, never followed
        return super().request(method, url, *args, **kwargs)


def session() -> GuardedSession:
    return GuardedSession(current_app.config.get("PUSH_TEST_CA"))


# --- sending ---------------------------------------------------------------------------

def backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(minutes=min(2 ** (attempts - 1), 60))


_DUE = (select(PushMessage.id)
        .where(PushMessage.next_attempt_at <= db.bindparam("now"),
               or_(PushMessage.claimed_until.is_(None), PushMessage.claimed_until <= db.bindparam("now")))
        .order_by(PushMessage.id).limit(db.bindparam("limit")))


def deliver(now: dt.datetime | None = None, limit: int = 200) -> dict[str, int]:
    """The job: send the pushes that are due. Never inside a write unit (each
    send is a slow call to another server). Returns {outcome: how many}."""
    now = max(now or utcnow(), utcnow())  # what the pass queued just now is due too
    counts: dict[str, int] = {}
    with write_unit():  # pushes older than their time-to-live would be dropped by the push service anyway
        ttl = dt.timedelta(seconds=current_app.config["PUSH_TTL_SECONDS"])
        db.session.execute(delete(PushMessage).where(PushMessage.created_at < now - ttl))
    ids = db.session.scalars(_DUE, {"now": now, "limit": limit}).all()
    db.session.commit()
    if not ids:
        return counts
    pusher = session()
    try:
        for message_id in ids:
            try:
                outcome = send_one(message_id, pusher)
            except Exception:  # the database refused a step: the lease brings the push back
                log.exception("sending push %s failed", message_id)
                db.session.rollback()
                outcome = "error"
            counts[outcome] = counts.get(outcome, 0) + 1
    finally:
        pusher.close()
    return counts


def send_one(message_id: int, pusher: requests.Session) -> str:
    """Claim one push with a lease, send it, then settle it: "sent", "gone"
    (the subscription is deleted), "refused" (so is it), "retry", "dropped"
    or "" (someone else has it)."""
    now = utcnow()
    with write_unit():
        claimed = db.session.execute(
            update(PushMessage).where(PushMessage.id == message_id,
                                      or_(PushMessage.claimed_until.is_(None), PushMessage.claimed_until <= now))
            .values(claimed_until=now + LEASE, attempts=PushMessage.attempts + 1)).rowcount
    if not claimed:
        return ""
    row = db.session.execute(select(PushMessage, PushSubscription)
                             .join(PushSubscription, PushSubscription.id == PushMessage.subscription_id)
                             .where(PushMessage.id == message_id)).first()
    if row is None:
        db.session.commit()
        return ""
    message, subscription = row
    info = {"endpoint": subscription.endpoint, "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth}}
    data, attempts, subscription_id = payload(message), message.attempts, subscription.id
    db.session.commit()  # no transaction stays open across the call to the push service
    status, problem = None, None
    try:
        precheck(info["endpoint"], bool(current_app.config.get("PUSH_TEST_CA")))
        webpush(info, data=data, vapid_private_key=_vapid(), vapid_claims={"sub": subject()},
                ttl=current_app.config["PUSH_TTL_SECONDS"], timeout=current_app.config["PUSH_TIMEOUT_SECONDS"],
                requests_session=pusher)
        status = 201
    except WebPushException as error:
        status = error.response.status_code if error.response is not None else None
        problem = str(error)
    except (RefusedEndpoint, VapidException) as error:  # never to be called, or not one we can sign for
        problem = str(error)
        status = "refused"
    except (requests.RequestException, OSError, ValueError) as error:
        problem = f"{type(error).__name__}: {error}"
    with write_unit():
        if status == 201 or (isinstance(status, int) and 200 <= status < 300):
            db.session.execute(delete(PushMessage).where(PushMessage.id == message_id))
            return "sent"
        if status in (404, 410) or status == "refused" or (isinstance(status, int) and 300 <= status < 400):
            # Gone, or an endpoint we will never call (a redirect is not followed): the device is forgotten.
            log.warning("push subscription %s deleted: %s", subscription_id, problem)
            db.session.execute(delete(PushMessage).where(PushMessage.subscription_id == subscription_id))
            db.session.execute(delete(PushSubscription).where(PushSubscription.id == subscription_id))
            return "refused" if status == "refused" or isinstance(status, int) and status < 400 else "gone"
        retry = status is None or status == 429 or (isinstance(status, int) and status >= 500)
        if not retry or attempts >= MAX_ATTEMPTS:
            log.warning("push %s dropped: %s", message_id, problem)
            db.session.execute(delete(PushMessage).where(PushMessage.id == message_id))
            return "dropped"
        db.session.execute(update(PushMessage).where(PushMessage.id == message_id).values(
            claimed_until=None, next_attempt_at=utcnow() + backoff(attempts), last_error=(problem or "")[:1000]))
        return "retry"

