"""A live govflow server with the demo data, and headless Chromium driven by Playwright.

Every page state a browser test reaches is checked with axe-core (vendored by axe-playwright-python): before each
action of the page (goto, click, fill...), after each of its waits (wait_for_url, wait_for_selector...) and once the
test body is over, the page is fingerprinted (its URL, text and element count); a state not seen before in the test is
audited. A "serious" or "critical" violation fails the test, with every violation of the journey listed at its end.
GOVFLOW_AXE=0 turns the audit off (to time the suite without it).
"""

from __future__ import annotations

import os
import shutil
import threading
from dataclasses import dataclass, field
from functools import cache, wraps
from urllib.parse import urlparse

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from ..conftest import make_app
from .kit import journey  # noqa: F401  (the user journeys' fixture, see kit.py)

CHROMIUM = os.environ.get("GOVFLOW_CHROMIUM", "/usr/bin/chromium")
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
AXE_IMPACTS = {"serious", "critical"}
# Page methods before which the current state is audited (they may leave it) and after which it is (they reach one).
AXE_BEFORE = (
    *("goto", "reload", "go_back", "go_forward"),
    *("click", "dblclick", "tap", "fill", "type", "press", "check", "uncheck", "select_option", "set_input_files"),
)
AXE_AFTER = ("wait_for_url", "wait_for_selector", "wait_for_load_state")
AXE_RESULTS_KEY = pytest.StashKey["AxeAudit"]()
_RESPONSE_KEY = "govflow.tests.response"


def _require_chromium():
    if shutil.which(CHROMIUM) or os.path.exists(CHROMIUM):
        return
    message = f"Chromium not found at {CHROMIUM} (install Debian's chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(message + ": browser tests are mandatory under CI=true")
    pytest.skip(message)


class _ClosingResponses:
    """Close every response's iterable, even when the browser drops the connection.

    Werkzeug's development server calls ``close()`` on the iterable only after it has drained the request socket, and
    that read raises ConnectionResetError when the browser has already aborted the request (Chromium does so for the
    favicon and for stylesheets of a page it leaves): the file of a static response (send_file) was then left open,
    and its ResourceWarning ("unclosed file .../static/favicon.svg") surfaced at a later garbage collection, failing an
    unrelated test. Here the iterable closes itself once exhausted, and ``_Handler.connection_dropped`` closes it when
    the write itself fails.
    """

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        response = self.app(environ, start_response)
        environ[_RESPONSE_KEY] = response
        return _SelfClosing(response)


class _SelfClosing:
    def __init__(self, response):
        self.response = response

    def __iter__(self):
        try:
            yield from self.response
        finally:
            self.close()

    def close(self):
        if hasattr(self.response, "close"):
            self.response.close()


class _Handler(WSGIRequestHandler):
    def connection_dropped(self, error, environ=None):
        response = (environ or {}).get(_RESPONSE_KEY)
        if hasattr(response, "close"):
            response.close()


@pytest.fixture
def live_server(tmp_path, _pg_schema):
    """Serve a CSRF-protected app with the demo data on a free localhost port."""
    app = make_app(tmp_path, WTF_CSRF_ENABLED=True, TESTING=False)
    with app.app_context():
        from govflow.demo import load_demo

        load_demo()
    server = make_server("127.0.0.1", 0, _ClosingResponses(app), threaded=True, request_handler=_Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)
    with app.app_context():
        from govflow.extensions import db

        db.session.remove()
        db.engine.dispose()


@cache
def _axe_script() -> str:
    from axe_playwright_python.sync_playwright import Axe

    return Axe().axe_script


_FINGERPRINT = """() => {
  if (!location.protocol.startsWith('http') || document.contentType !== 'text/html' || document.readyState !== 'complete') return null;
  const text = location.href + '\\n' + document.title + '\\n' + document.body.innerText + '\\n' + document.getElementsByTagName('*').length;
  let h = 0;
  for (let i = 0; i < text.length; i++) h = (Math.imul(31, h) + text.charCodeAt(i)) | 0;
  return location.href + '#' + h;
}"""

_AXE_RUN = """async (impacts) => {
  const results = await axe.run(document, {resultTypes: ['violations']});
  return results.violations.filter(v => impacts.includes(v.impact)).map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map(n => n.target.join(' ')),
    summary: v.nodes.length ? v.nodes[0].failureSummary : '',
  }));
}"""


@dataclass
class AxeAudit:
    """The axe-core audit of each distinct state a page reaches."""

    page: object
    seen: set[str] = field(default_factory=set)
    violations: list[str] = field(default_factory=list)
    running: bool = False

    def check(self):
        if self.running or self.page.is_closed():
            return
        self.running = True
        try:
            self._check()
        finally:
            self.running = False

    def _check(self):
        from playwright.sync_api import Error

        page = self.page
        for _attempt in range(3):
            try:
                page.wait_for_load_state("load")
                key = page.evaluate(_FINGERPRINT)
                if key is None or key in self.seen:
                    return
                if not page.evaluate("() => typeof window.axe === 'object'"):
                    page.evaluate(_axe_script())
                found = page.evaluate(_AXE_RUN, sorted(AXE_IMPACTS))
            except Error as error:  # the page navigated while it was audited: audit the new one
                if "context was destroyed" in str(error) or "navigat" in str(error):
                    continue
                raise
            self.seen.add(key)
            for v in found:
                summary = " ".join(v["summary"].split())
                self.violations.append(f"{v['id']} ({v['impact']}) at {page.url}: {v['help']}\n    targets: {'; '.join(v['targets'])}\n    {summary}")
            return

    def instrument(self):
        page = self.page
        for name in AXE_BEFORE:
            original = getattr(page, name)

            @wraps(original)
            def before(*args, _original=original, **kwargs):
                self.check()
                return _original(*args, **kwargs)

            setattr(page, name, before)
        for name in AXE_AFTER:
            original = getattr(page, name)

            @wraps(original)
            def after(*args, _original=original, **kwargs):
                result = _original(*args, **kwargs)
                self.check()
                return result

            setattr(page, name, after)

    def report(self) -> str:
        unique = list(dict.fromkeys(self.violations))
        return f"{len(unique)} serious or critical axe-core violation(s):\n  " + "\n  ".join(unique)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    audit = item.stash.get(AXE_RESULTS_KEY, None)
    try:
        result = yield
    except BaseException as error:  # a failing test keeps its own failure; what axe found so far is added to it
        if audit is not None and audit.violations:
            error.add_note(audit.report())
        raise
    if audit is not None and os.environ.get("GOVFLOW_AXE", "1") != "0":
        audit.check()  # the state the test ends on
        if audit.violations:
            pytest.fail(audit.report(), pytrace=False)
    return result


@pytest.fixture
def browser_page(tmp_path, request):
    """A Chromium page that records any request leaving localhost (and blocks it), audited by axe-core."""
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
        # A journey in French runs a French browser too (its own controls: file inputs, date pickers).
        variant = getattr(getattr(request.node, "callspec", None), "params", {}).get("journey")
        context = browser.new_context(locale="fr-FR" if variant and variant[0] == "fr" else "en-GB")

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
        if os.environ.get("GOVFLOW_AXE", "1") != "0":
            audit = AxeAudit(page)
            audit.instrument()
            request.node.stash[AXE_RESULTS_KEY] = audit
        yield page
        artifacts = os.environ.get("GOVFLOW_ARTIFACTS")
        if artifacts:
            os.makedirs(artifacts, exist_ok=True)
            page.screenshot(path=os.path.join(artifacts, "last-page.png"), full_page=True)
        context.close()
        browser.close()
