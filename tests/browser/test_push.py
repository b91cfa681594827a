"""Web Push in a real browser. Chromium here cannot subscribe through a real
push service, so: the page's "notify this device" is driven with the
browser's PushManager standing in for one (it hands over a subscription the
test made), and the service worker's push and notificationclick handlers are
driven through the DevTools protocol (ServiceWorker.deliverPushMessage), then
the notice shown and the page opened are checked."""

from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from ..push_service import BrowserKeys
from .conftest import PHONE, SQLITE_ONLY, signed_in_context
from .support import settle, until_controlled

# A PushManager that hands over the subscription the test made (window.__subscription),
# as a browser would after asking its push service.
FAKE_PUSH_SERVICE = """
(() => {
  if (!window.PushManager) { return; }
  let current = null;
  PushManager.prototype.getSubscription = function () { return Promise.resolve(current); };
  PushManager.prototype.subscribe = function (options) {
    window.__askedWithKey = options && options.applicationServerKey && options.applicationServerKey.length;
    const made = window.__subscription;
    current = {endpoint: made.endpoint, toJSON: () => made, unsubscribe: () => Promise.resolve(true)};
    return Promise.resolve(current);
  };
})();
"""


def _settings(context):
    page = context.new_page()
    page.goto("/notices/settings")
    until_controlled(page)
    return page


def test_notify_this_device_from_the_settings_page_and_remove_it(browser, demo_site, neighbour, tmp_path):
    context = signed_in_context(browser, demo_site, neighbour)
    context.add_init_script(FAKE_PUSH_SERVICE)
    context.grant_permissions(["notifications"], origin=demo_site.base_url)
    page = _settings(context)
    keys = BrowserKeys()
    endpoint = "https://push.example.net/send/abc123"
    page.evaluate("(s) => { window.__subscription = s; }",
                  {"endpoint": endpoint, "keys": {"p256dh": keys.p256dh, "auth": keys.auth_b64}})
    devices = page.locator("#devices")
    expect(devices.get_by_text("No device gets pushes yet.")).to_be_visible()
    # Nothing was asked on page load: the permission question follows a tap.
    assert page.evaluate("window.__askedWithKey") is None
    expect(devices.locator("[data-push-missing]")).to_be_hidden()
    devices.get_by_role("button", name="Notify this device").click()
    expect(devices.locator("[data-push-note]")).to_have_text("This device gets your pushes.")
    assert page.evaluate("window.__askedWithKey") == 65  # subscribed with the server's VAPID key
    expect(devices.get_by_role("list")).to_contain_text("Chrome")
    page.screenshot(path=str(tmp_path / "push-settings-360.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # Removed with htmx: the list is swapped in place, the page stays.
    url = page.url
    devices.get_by_role("button", name=re.compile("^Remove")).click()
    expect(devices.get_by_text("No device gets pushes yet.")).to_be_visible()
    assert page.url == url
    context.close()


def test_the_offer_after_answering_a_gathering_is_made_until_the_person_answers_it(
        browser, demo_site, demo_app, neighbour, tmp_path):
    from .support import gathering_path, make_gathering

    make_gathering(demo_app, "elm-street", "ada@example.org", "Push offer evening")
    path = gathering_path(demo_app, "elm-street", "Push offer evening")
    context = signed_in_context(browser, demo_site, neighbour)
    context.add_init_script(FAKE_PUSH_SERVICE)
    page = context.new_page()
    page.goto(path)
    until_controlled(page)
    answer = page.locator("#answer")
    expect(answer.locator("[data-push]")).to_have_count(0)  # not before the person acts
    answer.get_by_role("button", name="I’m coming").click()
    # htmx swapped the card in: one status region, and the offer beside it.
    expect(answer.get_by_role("status")).to_have_count(1)
    expect(answer.get_by_role("status")).to_contain_text("You are coming.")
    offer = answer.locator("[data-push]")
    expect(offer).to_be_visible()
    expect(offer).to_contain_text("Hear at once")
    page.screenshot(path=str(tmp_path / "push-offer-360.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # Once this device's person said yes, the offer is not made again.
    context.grant_permissions(["notifications"], origin=demo_site.base_url)  # the yes to the browser's question
    page.evaluate("(s) => { window.__subscription = s; }", {"endpoint": "https://push.example.net/send/offer",
                  "keys": {"p256dh": "BA" + "A" * 85, "auth": "A" * 22}})
    offer.get_by_role("button", name="Notify this device").click()
    expect(offer.locator("[data-push-note]")).to_have_text("This device gets your pushes.")
    answer.get_by_role("button", name="Maybe").click()
    expect(answer.get_by_role("status")).to_contain_text("You said maybe.")  # swapped before the next click
    answer.get_by_role("button", name="I’m coming").click()
    expect(answer.get_by_role("status")).to_contain_text("You are coming.")
    expect(answer.locator("[data-push]")).to_be_hidden()
    context.close()


def test_a_push_shows_the_notice_and_a_tap_opens_its_page(browser, demo_site, neighbour, tmp_path):
    context = signed_in_context(browser, demo_site, neighbour)
    context.grant_permissions(["notifications"], origin=demo_site.base_url)
    page = context.new_page()
    page.goto("/")
    until_controlled(page)
    cdp = context.new_cdp_session(page)
    registrations = []
    cdp.on("ServiceWorker.workerRegistrationUpdated",
           lambda event: registrations.extend(event["registrations"]))
    cdp.send("ServiceWorker.enable")
    settle(page, lambda: registrations)
    registration = next(r for r in registrations if r["scopeURL"] == demo_site.base_url + "/")
    # What the worker asks the browser to show is recorded as it asks. Headless chromium here sometimes
    # loses a shown notice: in about 1 run in 8, showNotification resolved and getNotifications(), called
    # right after it in the worker, returned none (its own flake, not the worker's), so the test reads
    # the worker's request, not the browser's list of notices on screen.
    worker = context.service_workers[0]
    worker.evaluate("""() => {
        self.__shown = [];
        const show = self.registration.showNotification.bind(self.registration);
        self.registration.showNotification = (title, options) => {
            self.__shown.push({title, body: options.body, data: options.data, icon: options.icon});
            return show(title, options);
        };
    }""")
    data = {"title": "Soup evening: a seat for you", "body": "A seat freed up: it is yours.",
            "path": "/notices"}
    cdp.send("ServiceWorker.deliverPushMessage", {"origin": demo_site.base_url,
                                                   "registrationId": registration["registrationId"],
                                                   "data": json.dumps(data)})
    shown = settle(page, lambda: worker.evaluate("() => self.__shown"))
    assert len(shown) == 1, shown
    assert shown[0]["title"] == data["title"] and shown[0]["body"] == data["body"]
    assert shown[0]["data"] == {"path": "/notices"} and "/static/icons/icon-192.png" in shown[0]["icon"]
    # A tap on it: the open window shows the notice's page. The event carries the notice as shown
    # (its data); chromium allows focusing a window only on a real tap, which the DevTools protocol
    # cannot make, so the page shown is checked and the focus, refused, is left out.
    worker.evaluate("""() => {
        const [shown] = self.__shown;
        const event = new Event("notificationclick");
        event.notification = {data: shown.data, close() {}};
        event.waitUntil = () => {};
        self.dispatchEvent(event);
    }""")
    expect(page).to_have_url(re.compile(r"/notices$"))
    # A push that is not ours (no JSON) still shows a plain notice, never an error.
    cdp.send("ServiceWorker.deliverPushMessage", {"origin": demo_site.base_url,
                                                   "registrationId": registration["registrationId"],
                                                   "data": "not json"})
    shown = settle(page, lambda: worker.evaluate("() => self.__shown.slice(1)"))
    assert [(n["title"], n["body"]) for n in shown] == [("Communitarium", "")]
    context.close()


@SQLITE_ONLY
def test_push_settings_are_accessible_on_a_phone(browser, demo_site, neighbour):
    from .test_a11y import in_both_schemes

    context = signed_in_context(browser, demo_site, neighbour)
    page = _settings(context)
    expect(page.locator("[data-push]")).to_be_visible()
    assert in_both_schemes(page) == []
    context.close()
