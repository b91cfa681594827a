"""Web Push end to end: a device subscribes through the real form post, a
notice that comes right away is pushed by the job runner to a local HTTPS
push service (tests/push_service.py) that checks the VAPID signature and
decrypts the payload; settings, quiet hours and a gone subscription; the
endpoints the server refuses to call; the VAPID key made once."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import pytest
import time_machine
import trustme
from sqlalchemy import select

from app import config as config_module
from app import jobs
from app.extensions import db
from app.notify import push
from app.notify import domain as notices
from app.notify.models import PushMessage, PushSubscription

from .gatherings_helpers import answer, count, email, neighbourhood, seen, signed_in
from .helpers import post
from .push_service import PushService, b64, unb64
from .served import ROOT
from .test_notify import _move, at, settings_form

CHROME_ANDROID = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/131.0 Mobile Safari/537.36")


@pytest.fixture(scope="module")
def local_ca(tmp_path_factory):
    ca = trustme.CA()
    path = tmp_path_factory.mktemp("push-ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return ca, str(path)


@pytest.fixture
def service(local_ca):
    found = PushService(*local_ca)
    yield found
    found.stop()


@pytest.fixture
def push_app(app, service):
    """The session's app, trusting the local push service (the test-only setting)."""
    app.config["PUSH_TEST_CA"] = service.ca_file
    yield app
    app.config["PUSH_TEST_CA"] = None


def subscribe(client, endpoint, keys, agent=CHROME_ANDROID):
    return post(client, "/notices/devices", {"endpoint": endpoint, "p256dh": keys.p256dh, "auth": keys.auth_b64},
                headers={"User-Agent": agent})


def _crowd(app):
    """Ada hosts (capacity 2): Bruno is seated, Chiara waits."""
    ids = neighbourhood(app, capacity=2)
    answer(signed_in(app, "Bruno"), ids["path"], "going")
    answer(signed_in(app, "Chiara"), ids["path"], "going")
    return ids


def _tick(app):
    with app.app_context():
        return jobs.tick()


def _devices(app, name=None):
    with app.app_context():
        query = select(PushSubscription.endpoint)
        if name:
            from app.auth.models import User
            query = query.join(User, User.id == PushSubscription.user_id).where(User.email == email(name))
        return list(db.session.scalars(query))


def test_a_seat_from_the_waitlist_is_pushed_to_the_device_by_the_runner(push_app, service):
    app = push_app
    ids = _crowd(app)
    chiara = signed_in(app, "Chiara")
    endpoint, keys = service.subscription("chiara-phone")
    response = subscribe(chiara, endpoint, keys)
    # The answer is the list of devices, for the page to swap in.
    assert response.status_code == 200 and "Chrome · Android" in seen(response.get_data(as_text=True))
    # Bruno's seat goes to Chiara: a push waits in the outbox, written with the change; nothing is sent
    # in the request (the runner sends it).
    answer(signed_in(app, "Bruno"), ids["path"], "cant")
    assert count(app, PushMessage) == 1 and service.received == []
    assert _tick(app)["push"] == "done"
    [got] = service.at("/push/chiara-phone")
    assert got.problem is None
    # Decrypted with Chiara's browser keys: the title, a short line and the path, nothing more.
    assert got.payload["title"] == "Soup evening: a seat for you"
    assert got.payload["path"] == ids["path"]
    assert set(got.payload) == {"title", "body", "path"} and 0 < len(got.payload["body"]) <= 120
    # Signed with the server's VAPID key; kept a day or more by the push service for a phone that is off.
    with app.app_context():
        assert got.claims["k"] == push.public_key()
    assert int(got.headers["ttl"]) >= 24 * 3600
    assert got.headers["content-encoding"] == "aes128gcm"
    assert count(app, PushMessage) == 0  # sent, so gone from the outbox
    # Nothing is pushed twice: the next pass finds nothing.
    _tick(app)
    assert len(service.at("/push/chiara-phone")) == 1


@pytest.mark.parametrize("status", [410, 404])
def test_a_push_service_that_says_gone_deletes_the_subscription(push_app, service, status):
    app = push_app
    ids = _crowd(app)
    chiara = signed_in(app, "Chiara")
    gone, gone_keys = service.subscription("old-laptop")
    kept, kept_keys = service.subscription("phone")
    assert subscribe(chiara, gone, gone_keys).status_code == 200
    assert subscribe(chiara, kept, kept_keys).status_code == 200
    service.gone["/push/old-laptop"] = status
    answer(signed_in(app, "Bruno"), ids["path"], "cant")
    _tick(app)
    assert [r.problem for r in service.at("/push/old-laptop")] == [None]  # it was really asked, and said gone
    assert service.at("/push/phone")[0].payload["title"] == "Soup evening: a seat for you"
    assert _devices(app, "Chiara") == [kept]
    page = chiara.get("/notices/settings").get_data(as_text=True)
    assert len(re.findall(r'action="/notices/devices/\d+/remove"', page)) == 1


def test_pushes_obey_the_settings_and_quiet_hours_like_mail(push_app, service, mailbox):
    app = push_app
    ids = _crowd(app)
    chiara = signed_in(app, "Chiara")
    endpoint, keys = service.subscription("chiara")
    subscribe(chiara, endpoint, keys)
    # The kind only in the digest: no push (a push is for what comes right away).
    assert post(chiara, "/notices/settings", settings_form(**{"kind-gathering_seat": "digest"})).status_code == 303
    answer(signed_in(app, "Bruno"), ids["path"], "cant")
    _tick(app)
    assert count(app, PushMessage) == 0 and service.received == []
    # Moved in quiet hours (21:00 to 08:00): the push waits for the morning, with the mail.
    with time_machine.travel(at(2026, 12, 7, 22, 30), tick=False):
        _move(app, ids, place="The community hall")
        _tick(app)
    assert service.received == [] and count(app, PushMessage) == 0
    with time_machine.travel(at(2026, 12, 8, 7, 59), tick=False):
        _tick(app)
    assert service.received == []
    with time_machine.travel(at(2026, 12, 8, 8, 1), tick=False):
        _tick(app)
    [got] = service.at("/push/chiara")
    assert got.payload["title"] == "Soup evening: changed" and got.problem is None


def test_a_kind_turned_off_is_never_pushed(push_app, service):
    app = push_app
    ids = _crowd(app)
    chiara = signed_in(app, "Chiara")
    endpoint, keys = service.subscription("chiara")
    subscribe(chiara, endpoint, keys)
    assert post(chiara, "/notices/settings", settings_form(**{"kind-gathering_seat": "off"})).status_code == 303
    answer(signed_in(app, "Bruno"), ids["path"], "cant")
    _tick(app)
    assert service.received == [] and count(app, PushMessage) == 0


# --- devices on the settings page -------------------------------------------------------------------

def test_devices_are_listed_and_removed_with_and_without_javascript(push_app, service):
    app = push_app
    neighbourhood(app)
    chiara = signed_in(app, "Chiara")
    page = chiara.get("/notices/settings")
    text = seen(page)
    assert "No device gets pushes yet." in text and "Add to Home Screen" in text
    # The button is in the page, hidden until app.js finds a browser that takes pushes.
    assert re.search(r'<p class="push-offer" hidden data-push="/notices/devices" data-key="[A-Za-z0-9_-]{87}"',
                     page.get_data(as_text=True))
    phone, phone_keys = service.subscription("phone")
    laptop, laptop_keys = service.subscription("laptop")
    subscribe(chiara, phone, phone_keys)
    subscribe(chiara, laptop, laptop_keys, agent="Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 "
                                                 "Firefox/133.0")
    # One subscription per device: the same endpoint again is the same device.
    subscribe(chiara, phone, phone_keys)
    assert sorted(_devices(app, "Chiara")) == sorted([phone, laptop])
    html = chiara.get("/notices/settings").get_data(as_text=True)
    assert "Chrome · Android" in seen(html) and "Firefox · Linux" in seen(html)
    ids = [int(i) for i in re.findall(r'action="/notices/devices/(\d+)/remove"', html)]
    assert len(ids) == 2
    # Without JavaScript: a form post, back to the page, which says so.
    response = post(chiara, f"/notices/devices/{ids[0]}/remove", follow_redirects=True)
    assert response.status_code == 200 and "That device gets no more pushes." in seen(response)
    assert "Chrome · Android" not in seen(response) and "Firefox · Linux" in seen(response)
    # With htmx: the list alone, without the removed device.
    response = post(chiara, f"/notices/devices/{ids[1]}/remove", headers={"HX-Request": "true"})
    fragment = response.get_data(as_text=True)
    assert response.status_code == 200 and fragment.lstrip().startswith('<div id="device-list">')
    assert "No device gets pushes yet." in seen(fragment)
    assert _devices(app, "Chiara") == []


def test_someone_elses_device_cannot_be_removed_and_a_shared_device_follows_who_subscribed(push_app, service):
    app = push_app
    neighbourhood(app)
    chiara, bruno = signed_in(app, "Chiara"), signed_in(app, "Bruno")
    endpoint, keys = service.subscription("family-tablet")
    subscribe(chiara, endpoint, keys)
    device_id = int(re.search(r"/notices/devices/(\d+)/remove", chiara.get("/notices/settings")
                              .get_data(as_text=True)).group(1))
    post(bruno, f"/notices/devices/{device_id}/remove")
    assert _devices(app, "Chiara") == [endpoint]
    # Bruno signs in on the same tablet and turns pushes on: it is his device now, not both.
    subscribe(bruno, endpoint, keys)
    assert _devices(app, "Chiara") == [] and _devices(app, "Bruno") == [endpoint]


@pytest.mark.parametrize("fields", [
    {},
    {"endpoint": "http://push.example.net/x"},
    {"endpoint": "https://push.example.net/x", "p256dh": "short"},
    {"endpoint": "https://push.example.net/x", "auth": "!!"},
    {"endpoint": "https://user@push.example.net/x"},
    {"endpoint": "https://push.example.net/" + "x" * 1000},
    {"endpoint": "https://push.example.net/\x00"},
])
def test_a_malformed_subscription_is_a_clear_400(push_app, service, fields):
    neighbourhood(push_app)
    chiara = signed_in(push_app, "Chiara")
    _endpoint, keys = service.subscription("any")
    data = {"endpoint": "https://push.example.net/x", "p256dh": keys.p256dh, "auth": keys.auth_b64} | fields
    if not fields:
        data = {}
    assert post(chiara, "/notices/devices", data).status_code == 400
    assert _devices(push_app) == []
    # And without the CSRF token, nothing is stored either.
    good = {"endpoint": "https://push.example.net/x", "p256dh": keys.p256dh, "auth": keys.auth_b64}
    assert chiara.post("/notices/devices", data=good).status_code == 400


# --- endpoints the server refuses to call --------------------------------------------------------------

def _queue_to(app, endpoint, keys):
    """A subscription straight in the database (as if stored before a DNS change) and one push for it."""
    from app.auth.models import User
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email("Chiara")))
        row = PushSubscription(user_id=user.id, endpoint=endpoint, p256dh=keys.p256dh, auth=keys.auth_b64,
                               device="test")
        db.session.add(row)
        db.session.flush()
        db.session.add(PushMessage(subscription_id=row.id, title="T", body="B", path="/"))
        db.session.commit()


def _deliver(app):
    with app.app_context():
        return push.deliver()


@pytest.mark.parametrize("endpoint", [
    "http://127.0.0.1:{port}/push/refused",  # not https
    "https://10.20.30.40/push/refused",  # a private address
    "https://192.168.1.1:{port}/push/refused",
    "https://169.254.169.254/push/refused",  # link-local (cloud metadata)
    "https://[::ffff:127.0.0.1]:{port}/push/refused",  # loopback written as IPv6
    "https://localhost:{port}/push/refused",  # a name that resolves to loopback
])
def test_endpoints_inside_a_network_are_refused_at_send_time(app, service, endpoint):
    """Without the test-only setting, the local service itself is refused, and never called."""
    neighbourhood(app)
    _endpoint, keys = service.subscription("refused")
    endpoint = endpoint.format(port=service.port)
    _queue_to(app, endpoint, keys)
    assert _deliver(app) == {"refused": 1}
    assert service.received == []
    assert _devices(app) == [] and count(app, PushMessage) == 0  # never to be tried again


def test_the_guard_checks_the_address_it_connects_to(app, service, monkeypatch):
    """The negative control of the refusals above: with the test-only CA the
    local service is reached by name; a name that resolves to a private
    address is refused however it is spelt (the resolver is asked at send time)."""
    neighbourhood(app)
    endpoint, keys = service.subscription("by-name", host="localhost")
    app.config["PUSH_TEST_CA"] = service.ca_file
    try:
        _queue_to(app, endpoint, keys)
        assert _deliver(app) == {"sent": 1}
        assert service.at("/push/by-name")[0].payload == {"title": "T", "body": "B", "path": "/"}
    finally:
        app.config["PUSH_TEST_CA"] = None
    real = push.socket.getaddrinfo

    def resolver(host, *args, **kwargs):  # push.example.net now points into the network
        return real("10.0.0.7" if host == "push.example.net" else host, *args, **kwargs)

    monkeypatch.setattr(push.socket, "getaddrinfo", resolver)
    with pytest.raises(push.RefusedEndpoint):
        push.GuardedSession().post("https://push.example.net/x", data=b"", timeout=5)


def test_a_redirect_is_not_followed(push_app, service):
    app = push_app
    neighbourhood(app)
    endpoint, keys = service.subscription("moving")
    service.redirects["/push/moving"] = f"https://127.0.0.1:{service.port}/push/inside"
    _queue_to(app, endpoint, keys)
    assert _deliver(app) == {"refused": 1}
    assert len(service.at("/push/moving")) == 1 and service.at("/push/inside") == []
    assert _devices(app) == []


def test_a_push_service_that_fails_is_tried_again_later(push_app, service, monkeypatch):
    app = push_app
    neighbourhood(app)
    endpoint, keys = service.subscription("flaky")
    _queue_to(app, endpoint, keys)
    service.stop()  # nobody answers: the push waits, with its subscription
    assert _deliver(app) == {"retry": 1}
    assert count(app, PushMessage) == 1 and _devices(app) == [endpoint]
    with app.app_context():
        assert push.deliver() == {}  # not before its next try


def test_a_name_that_does_not_resolve_now_is_tried_again_not_forgotten(push_app, service, monkeypatch):
    app = push_app
    neighbourhood(app)
    _endpoint, keys = service.subscription("dns")
    _queue_to(app, "https://push.example.net/send/dns", keys)

    def outage(*args, **kwargs):
        raise push.socket.gaierror(push.socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(push.socket, "getaddrinfo", outage)
    assert _deliver(app) == {"retry": 1}
    assert _devices(app) == ["https://push.example.net/send/dns"] and count(app, PushMessage) == 1


# --- the keys ---------------------------------------------------------------------------------------

def test_the_vapid_key_is_made_once_and_shared(tmp_path, monkeypatch):
    monkeypatch.delenv("VAPID_PRIVATE_KEY", raising=False)
    # Several processes starting at once read one key (the first writer wins).
    code = "import sys; from app.config import load_vapid_key; print(load_vapid_key(sys.argv[1]))"
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE,
                              text=True, env=os.environ | {"PYTHONPATH": str(ROOT)}) for _ in range(4)]
    keys = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert len(keys) == 1
    key = keys.pop()
    assert len(unb64(key)) == 32
    assert (tmp_path / "vapid_private_key").read_text().strip() == key
    assert oct((tmp_path / "vapid_private_key").stat().st_mode & 0o777) == "0o600"
    assert config_module.load_vapid_key(str(tmp_path)) == key
    # Given in the environment, it wins (every server of a deployment shares it).
    monkeypatch.setenv("VAPID_PRIVATE_KEY", "from-the-environment")
    assert config_module.load_vapid_key(str(tmp_path)) == "from-the-environment"


def test_make_writes_the_keys_before_any_worker_starts():
    out = subprocess.run(["make", "-n", "-B", "run"], cwd=ROOT, capture_output=True, text=True).stdout
    lines = out.splitlines()
    made = next(i for i, line in enumerate(lines) if "load_vapid_key" in line)
    served = next(i for i, line in enumerate(lines) if "serve.sh" in line)
    assert made < served


def test_the_payload_is_minimal(ctx):
    message = PushMessage(title="Soup evening: a seat for you", body="It is yours.", path="/c/elm/gatherings/1")
    assert json.loads(push.payload(message)) == {"title": "Soup evening: a seat for you", "body": "It is yours.",
                                                 "path": "/c/elm/gatherings/1"}
    assert push.short_line("First line\nstill first.\n\nSecond.") == "First line still first."
    assert len(push.short_line("word " * 100)) == 120
    assert b64(unb64(push.public_key())) == push.public_key() and len(unb64(push.public_key())) == 65
    assert notices.send_now  # pushes are queued where a notice is mailed right away


def test_the_job_runner_process_sends_the_push(push_app, service, database_url, tmp_path):
    """End to end with the real runner: `flask jobs run`'s loop in a process of its own, on this database."""
    app = push_app
    ids = _crowd(app)
    endpoint, keys = service.subscription("runner")
    subscribe(signed_in(app, "Chiara"), endpoint, keys)
    answer(signed_in(app, "Bruno"), ids["path"], "cant")
    log = (tmp_path / "runner.log").open("w")
    runner = subprocess.Popen([sys.executable, "-m", "tests.push_worker", database_url, service.ca_file,
                               app.config["VAPID_PRIVATE_KEY"]], cwd=ROOT, stdout=log, stderr=log,
                              env=os.environ | {"PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 60
        while not service.at("/push/runner") and time.monotonic() < deadline and runner.poll() is None:
            time.sleep(0.2)
    finally:
        runner.terminate()
        runner.wait(timeout=30)
    received = service.at("/push/runner")
    assert len(received) == 1, (tmp_path / "runner.log").read_text()[-3000:]
    got = received[0]
    assert got.payload == {"title": "Soup evening: a seat for you", "body": got.payload["body"], "path": ids["path"]}
    assert got.problem is None
    assert count(app, PushMessage) == 0


def test_the_offer_follows_an_action_never_before(push_app, service):
    """"Notify this device" beside what the person just did: a request to borrow, an answer to a gathering."""
    from .lending_helpers import ask, day, library
    app = push_app
    ids = library(app)
    bruno = signed_in(app, "Bruno")
    assert "data-push-offer" not in bruno.get(ids["thing_path"]).get_data(as_text=True)
    assert ask(bruno, ids["thing_path"], day(app, 0), day(app, 3), "For the shelves").status_code == 303
    page = bruno.get(ids["thing_path"]).get_data(as_text=True)
    assert "data-push-offer" in page and "Hear at once when the owner answers:" in seen(page)
    dmitri = signed_in(app, "Dmitri")
    assert "data-push-offer" not in dmitri.get(ids["path"]).get_data(as_text=True)
    card = answer(dmitri, ids["path"], "going", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "data-push-offer" in card and card.count('role="status"') == 1
    assert "data-push-offer" in dmitri.get(ids["path"]).get_data(as_text=True)  # and on the page without htmx
    # "Maybe" is not a place to lose: no offer.
    card = answer(dmitri, ids["path"], "maybe", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "data-push-offer" not in card
