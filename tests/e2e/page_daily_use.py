"""The page in daily use, checked in the end-to-end run once two banks are connected and synced
(tests/e2e/test_make_dev.py calls `check_daily_use`).

- The connect form is folded away behind "Connect another bank", which opens it (focus on its first field) and
  closes it again.
- Statuses are said in words, the exact term on hover.
- Sync now: focus waits on the card's status line during the sync and is still there after the redraw it ends with.
- A phone-size window shows the totals and the transactions before the connections (screenshot).
- A signed-out start logs no error and no failed request (no refresh that answers 401), and a signed-in start asks
  nothing that fails either.
"""

import re
from pathlib import Path
from typing import Any

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def check_daily_use(page: Any, api_url: str, artifacts: Path) -> None:
    _connect_form_folds(page)
    _statuses_in_words(page)
    _focus_after_sync_now(page)
    _phone_shows_daily_use_first(page, artifacts)
    _signed_in_start_is_quiet(page, api_url)
    _signed_out_start_is_quiet(page, api_url, artifacts)


def _connect_form_folds(page: Any) -> None:
    from playwright.sync_api import expect

    toggle = page.locator("#connect-toggle")
    expect(page.locator("#connect-card")).to_be_hidden()
    expect(toggle).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(page.locator("#connect-card")).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#country")).to_be_focused()
    toggle.click()
    expect(page.locator("#connect-card")).to_be_hidden()
    expect(toggle).to_be_focused()


def _statuses_in_words(page: Any) -> None:
    from playwright.sync_api import expect

    status = page.locator(".connection-card[data-provider=enablebanking] .status")
    expect(status).to_have_text("Connected")
    expect(status).to_have_attribute("title", "Status: active")


def _focus_after_sync_now(page: Any) -> None:
    from playwright.sync_api import expect

    card = page.locator(".connection-card[data-provider=enablebanking]")
    button = card.locator("button.sync-now")
    expect(button).to_be_enabled()
    button.focus()
    page.keyboard.press("Enter")
    # The button turns itself off while its sync runs: focus waits on the status line, where progress is written.
    expect(card.locator(".job-status")).to_be_focused()
    expect(card).to_have_attribute("data-job-state", re.compile(r"^(pending|running|completed)$"), timeout=10_000)
    expect(card).to_have_attribute("data-job-state", "completed", timeout=120_000)
    expect(card.locator(".job-status")).to_contain_text("Synced")
    # The cards were redrawn when the sync ended: focus is on the new card's status line, not lost on <body>.
    expect(card.locator(".job-status")).to_be_focused()


def _phone_shows_daily_use_first(page: Any, artifacts: Path) -> None:
    from playwright.sync_api import expect

    page.set_viewport_size(PHONE)
    try:
        totals = page.locator("#account-totals")
        expect(totals).to_be_visible()
        expect(page.locator("#tx-table tbody tr.tx").first).to_be_visible()
        top = {
            name: page.locator(selector).bounding_box()["y"]
            for name, selector in {
                "totals": "#account-totals",
                "transactions": "#transactions",
                "connections": "#connections-title",
            }.items()
        }
        assert top["totals"] < top["transactions"] < top["connections"], top
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=artifacts / "09-phone-daily-use.png")
        page.screenshot(path=artifacts / "09b-phone-daily-use-full.png", full_page=True)
    finally:
        page.set_viewport_size(DESKTOP)


class _Listener:
    """What a page logs as an error, fails to load, or gets a 4xx/5xx for."""

    def __init__(self, page: Any) -> None:
        self.problems: list[str] = []
        page.on("console", self._console)
        page.on("requestfailed", lambda request: self.problems.append(f"failed: {request.method} {request.url}"))
        page.on("response", self._response)

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.problems.append(f"console: {message.text}")

    def _response(self, response: Any) -> None:
        if response.status >= 400:
            self.problems.append(f"{response.status}: {response.request.method} {response.url}")


def _signed_in_start_is_quiet(page: Any, api_url: str) -> None:
    from playwright.sync_api import expect

    email = page.locator("#signed-in-as").inner_text()
    # Left first, so a request of the page being left (a poll cut short) is not counted as failed.
    page.goto("about:blank")
    listener = _Listener(page)
    page.goto(f"{api_url}/")  # a new load (not the back/forward cache): the session is restored from the cookie
    expect(page.locator("#signed-in-as")).to_have_text(email)
    expect(page.locator("#accounts .account").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert not listener.problems, listener.problems


def _signed_out_start_is_quiet(page: Any, api_url: str, artifacts: Path) -> None:
    from playwright.sync_api import expect

    context = page.context.browser.new_context(viewport=DESKTOP)
    try:
        fresh = context.new_page()
        listener = _Listener(fresh)
        fresh.goto(f"{api_url}/")
        expect(fresh.locator("#auth")).to_be_visible()
        fresh.wait_for_load_state("networkidle")
        fresh.screenshot(path=artifacts / "10-signed-out-start.png")
        assert not listener.problems, listener.problems
    finally:
        context.close()
