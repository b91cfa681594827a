"""The harness itself: the served demo answers a signed-in browser, and the
crawl reaches the circle's pages."""

from app import create_app

from ..crawl import crawl
from ..served import session_cookie
from .conftest import signed_in_context


def test_signed_in_home_in_the_browser(browser, demo_site):
    context = signed_in_context(browser, demo_site, "ada@example.org")
    page = context.new_page()
    page.goto("/")
    assert page.inner_text("h1") == "Hello, Ada Okafor"
    assert "Elm Street" in page.inner_text("main")
    context.close()


def test_crawl_reaches_the_circle(demo_site):
    cookie = session_cookie(demo_site.database_url, "ada@example.org")
    url_map = create_app({"SQLALCHEMY_DATABASE_URI": demo_site.database_url, "SECRET_KEY": "x"}).url_map
    pages = crawl(demo_site.base_url, cookie, url_map)
    endpoints = {p.endpoint for p in pages}
    assert {"home.index", "home.circle", "circles.members", "circles.log", "auth.account"} <= endpoints
    assert all(p.status == 200 for p in pages), [(p.url, p.status) for p in pages if p.status != 200]
