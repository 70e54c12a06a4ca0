"""The web console in a real browser (Debian's Chromium, headless) against a real `reels serve`: sign in, make a
reel, watch its progress bar live over the WebSocket, play the result; errors and the admin-only view."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.served import ServedApp

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (scripts/install.sh installs it)"
)
# The machine has no network: without the background-networking flags Chromium stalls on its own requests.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REEL_TIMEOUT_MS = 180_000

# Records every value each task row's <progress> takes, so a short intermediate value can't slip between polls.
RECORD_PROGRESS = """() => {
  window.__seen = {};
  const scan = () => {
    for (const row of document.querySelectorAll('#tasks tr[data-task-id]')) {
      const bar = row.querySelector('progress');
      if (bar) (window.__seen[row.dataset.taskId] ||= []).push(bar.value);
    }
  };
  new MutationObserver(scan).observe(document.body, {subtree: true, childList: true, attributes: true,
                                                     attributeFilter: ['value', 'data-state']});
  scan();
}"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    app = ServedApp(tmp_path_factory.mktemp("console") / "data").start()
    try:
        yield app
    finally:
        app.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    # Its own sessionStorage; the page's Content-Security-Policy would refuse Playwright's polled predicates
    # (they are evaluated strings): test_the_page_runs_under_its_own_policy checks the page with it.
    context = browser.new_context(bypass_csp=True)
    try:
        yield context.new_page()
    finally:
        context.close()


def sign_in(page: Any, served: ServedApp, user: str, token: str) -> None:
    page.goto(f"{served.url}/console")
    page.fill("#user", user)
    page.fill("#token", token)
    page.click("#signin")


def test_make_a_reel_and_watch_it(served: ServedApp, page: Any) -> None:
    sign_in(page, served, "alice", served.user("alice"))
    page.wait_for_function("document.querySelectorAll('#voice option').length > 0")
    assert page.eval_on_selector("#voice", "s => s.value") == "en-us"
    page.wait_for_function("document.querySelector('#live').textContent.includes('live')")  # subscribed
    page.evaluate(RECORD_PROGRESS)

    page.fill("#topic", "Why the sky is blue")
    page.fill("#size", "270x480")
    page.fill("#seconds", "6")
    page.click("#create")
    row = page.wait_for_selector("#tasks tr[data-task-id]")
    task_id = row.get_attribute("data-task-id")
    sel = f'#tasks tr[data-task-id="{task_id}"]'

    page.wait_for_function(
        """sel => { const r = document.querySelector(sel);
                    return r.dataset.state === 'SUCCESS' && r.querySelector('progress').value === 100; }""",
        arg=sel,
        timeout=REEL_TIMEOUT_MS,
        polling=200,
    )
    assert not page.is_visible("#error"), page.inner_text("#error")
    seen = page.evaluate("id => window.__seen[id] || []", task_id)
    assert any(1 <= v <= 99 for v in seen), f"no intermediate progress on the page: {seen}"
    assert page.inner_text(f"{sel} .state") == "SUCCESS"

    video = page.wait_for_selector(f"{sel} video", timeout=30_000)
    links = page.eval_on_selector_all(f"{sel} .links a", "as => as.map(a => a.textContent)")
    assert {"video", "srt"} <= set(links), links
    page.wait_for_function("v => v.readyState >= 2", arg=video, timeout=30_000)
    state = video.evaluate("v => ({duration: v.duration, error: v.error && v.error.code, src: v.currentSrc})")
    assert state["error"] is None and state["duration"] > 3, state
    video.evaluate("v => { v.muted = true; return v.play(); }")  # muted: no autoplay policy in the way
    page.wait_for_function("v => v.currentTime > 0.5 && !v.paused", arg=video, timeout=30_000)


def test_bad_token_and_admin_only(served: ServedApp, page: Any) -> None:
    sign_in(page, served, "mallory", "rg_not-a-real-token")
    page.wait_for_function("document.querySelector('#error').textContent.includes('401')")
    assert "invalid or revoked token" in page.inner_text("#error")

    page.click("#signout")
    assert page.evaluate("sessionStorage.getItem('reels.token')") is None
    sign_in(page, served, "bob", served.user("bob"))
    page.wait_for_function("document.querySelector('#dlq-msg').textContent === 'admin only'")
    page.wait_for_selector("#queues tr[data-queue]")  # an ordinary user still sees the queues
    assert not page.is_visible("#error")

    page.click("#signout")
    sign_in(page, served, "root", served.user("root", admin=True))
    page.wait_for_function("document.querySelector('#dlq-msg').textContent.includes('dead-lettered')")


def test_the_page_runs_under_its_own_policy(browser: Any, served: ServedApp) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        blocked: list[str] = []  # what the Content-Security-Policy refused: the page's own code must never be
        page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
        sign_in(page, served, "csp", served.user("csp"))
        page.wait_for_selector("#voice option", state="attached", timeout=30_000)  # its script ran and fetched
        page.wait_for_selector("#live:has-text('live')", timeout=30_000)  # and its WebSocket connected
        assert not blocked, blocked
    finally:
        context.close()
