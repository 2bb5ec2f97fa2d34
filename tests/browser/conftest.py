"""A live govflow server with the demo data, and headless Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import threading
from urllib.parse import urlparse

import pytest
from werkzeug.serving import make_server

from ..conftest import make_app

CHROMIUM = os.environ.get("GOVFLOW_CHROMIUM", "/usr/bin/chromium")
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}


def _require_chromium():
    if shutil.which(CHROMIUM) or os.path.exists(CHROMIUM):
        return
    message = f"Chromium not found at {CHROMIUM} (install Debian's chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(message + ": browser tests are mandatory under CI=true")
    pytest.skip(message)


@pytest.fixture
def live_server(tmp_path, _pg_schema):
    """Serve a CSRF-protected app with the demo data on a free localhost port."""
    app = make_app(tmp_path, WTF_CSRF_ENABLED=True, TESTING=False)
    with app.app_context():
        from govflow.demo import load_demo

        load_demo()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    with app.app_context():
        from govflow.extensions import db

        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def browser_page(tmp_path):
    """A Chromium page that records any request leaving localhost (and blocks it)."""
    _require_chromium()
    from playwright.sync_api import sync_playwright

    outside: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--headless",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        context = browser.new_context(locale="en-GB")

        def guard(route):
            host = urlparse(route.request.url).hostname or ""
            if route.request.url.startswith(("data:", "blob:")) or host in LOCAL_HOSTS:
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        context.route("**/*", guard)
        page = context.new_page()
        page.set_default_timeout(15000)
        page.outside_requests = outside
        yield page
        artifacts = os.environ.get("GOVFLOW_ARTIFACTS")
        if artifacts:
            os.makedirs(artifacts, exist_ok=True)
            page.screenshot(path=os.path.join(artifacts, "last-page.png"), full_page=True)
        context.close()
        browser.close()
