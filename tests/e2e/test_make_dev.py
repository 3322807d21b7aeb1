"""The newcomer's path, end to end: `make dev`, the page in a real browser, then Ctrl-C.

One stack serves the module, in order: the page flow in headless Chromium (register → connect the GoCardless sandbox
bank → approve on its consent page → Sync now → completed → transactions listed; then an Enable Banking sandbox bank
beside it → approve as a test customer → back on the page → first sync completed → its transactions listed), then
Ctrl-C, which must leave no process
of the stack behind even in the middle of a sync (a Dagster run worker at work), then a second start on the same data
dir, which must find everything where it was left. Screenshots of each step land in test-artifacts/ (git-ignored).
"""

import os
import re
import shutil
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from src.auth.demo import DEMO_EMAIL, DEMO_PASSWORD
from tests.e2e.page_daily_use import check_daily_use
from tests.e2e.page_transactions import check_transactions
from tests.harness.devstack import (
    DevStack,
    left_behind,
    signed_in,
    stack_environment,
    stack_processes,
)
from tests.harness.live import SANDBOX_INSTITUTION, UNFINISHED, connect_sandbox_bank, wait_for_job
from tests.harness.sandbox import PROJECT_ROOT

ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "e2e"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
E2E_PASSWORD = "correct horse battery"
# Enable Banking's sandbox bank in Finland (src/sandbox/enablebanking/catalogue.py), as the bank picker labels it.
EB_BANK = "Mock ASPSP"
PICKER_LOGO_LOADED = """(id) => {
    const image = document.querySelector(`#bank-list .bank-option[data-institution-id="${id}"] img.bank-logo`);
    return Boolean(image && image.complete && image.naturalWidth > 0);
}"""
GOCARDLESS_BANK = "Sandbox Finance"


def _chromium() -> str:
    """Debian's Chromium (or CHROMIUM_PATH); skip with install instructions where it is missing, fail in CI."""
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    if path:
        return path
    message = (
        "Chromium is not installed: the end-to-end page test needs it. Install it with "
        "`sudo apt-get install chromium` (Debian/Ubuntu), or set CHROMIUM_PATH to a Chromium binary."
    )
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


class Shared:
    """What the module's tests hand on to each other (the user the page registered)."""

    email: str | None = None


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("devstack") / "data"


@pytest.fixture(scope="module")
def stack_env(data_dir: Path) -> dict[str, str]:
    return stack_environment(data_dir)


@pytest.fixture(scope="module")
def stack(stack_env: dict[str, str], data_dir: Path) -> Iterator[DevStack]:
    running = DevStack(stack_env, data_dir.parent / "make-dev.log")
    try:
        running.wait_ready()
        yield running
    finally:
        running.close()


def test_register_connect_approve_sync_and_read_transactions(stack: DevStack) -> None:
    from playwright.sync_api import expect, sync_playwright

    executable = _chromium()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    email = f"e2e-{uuid.uuid4().hex[:8]}@example.com"
    # Two transactions calls per account per day (GoCardless allows four): the first sync and one Sync now use
    # them up, so the next Sync now meets the bank's limit.
    httpx.post(f"{stack.sandbox_url}/_sandbox/limits", json={"account_daily": 2}, timeout=10).raise_for_status()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(30_000)
        page_errors: list[str] = []
        page.on("pageerror", lambda error: page_errors.append(str(error)))
        try:
            page.goto(f"{stack.api_url}/")
            expect(page.locator("#auth")).to_be_visible()
            # The demo account is offered on a `make dev` stack; this test registers a user of its own.
            expect(page.locator("#email")).to_have_value(DEMO_EMAIL)
            page.fill("#email", email)
            page.fill("#password", E2E_PASSWORD)
            page.click("#register")
            expect(page.locator("#signed-in-as")).to_contain_text(email)
            page.screenshot(path=ARTIFACTS / "01-signed-in.png", full_page=True)

            # The bank picker: no bank chosen until the person chooses (Connect waits); typing filters by name,
            # case and accents ignored; each bank shows its logo, served by finsync itself.
            page.select_option("#country", "GB")
            choice = page.locator(f"#bank-list input[name=institution][value='{SANDBOX_INSTITUTION}']")
            expect(choice).to_have_count(1)
            expect(page.locator("#bank-list input:checked")).to_have_count(0)
            expect(page.locator("#connect")).to_be_disabled()
            page.fill("#institution", "SANDBOX fin")
            expect(page.locator("#bank-list .bank-option:visible")).to_have_count(1)
            expect(page.locator("#bank-count")).to_contain_text("1 of")
            page.wait_for_function(PICKER_LOGO_LOADED, arg=SANDBOX_INSTITUTION)
            choice.check()
            expect(page.locator("#connect")).to_be_enabled()
            page.screenshot(path=ARTIFACTS / "01b-bank-picker.png", full_page=True)
            page.click("#connect")

            page.wait_for_url(f"{stack.sandbox_url}/**")
            page.screenshot(path=ARTIFACTS / "02-consent.png", full_page=True)
            page.click("button[value=approve]")

            # Back on the page, signed in again through the refresh cookie, the first sync under way.
            page.wait_for_url(f"{stack.api_url}/**")
            card = page.locator(".connection-card")
            expect(card).to_have_count(1)
            expect(page.locator("#notice")).not_to_be_empty()
            expect(card).to_have_attribute("data-job-state", "completed", timeout=120_000)
            page.screenshot(path=ARTIFACTS / "03-linked-first-sync.png", full_page=True)

            # The "Bank connected" banner can be dismissed; focus goes to the page, not lost.
            page.get_by_role("button", name="Dismiss").click()
            expect(page.locator("#notice-bar")).to_be_hidden()
            expect(page.locator("#main")).to_be_focused()

            card.locator("button.sync-now").click()
            expect(card).to_have_attribute("data-job-state", re.compile(r"^(pending|running)$"), timeout=10_000)
            expect(card).to_have_attribute("data-job-state", "completed", timeout=120_000)
            expect(card.locator(".job-status")).to_contain_text("Synced")
            expect(card.locator(".last-sync")).not_to_contain_text("never")

            expect(page.locator("#accounts .account").first).to_be_visible()
            rows = page.locator("#tx-table tbody tr.tx")
            expect(rows.first).to_be_visible()

            # Every account has used its calls for today: the card turns Sync now off and says until when (the API
            # would refuse it: 429 `rate_limited`).
            expect(card.locator("button.sync-now")).to_be_disabled()
            expect(card.locator(".sync-blocked")).to_contain_text("Rate limited until")
            expect(rows.first).to_be_visible()
            assert rows.count() > 0
            page.screenshot(path=ARTIFACTS / "04-synced.png", full_page=True)

            # Search as a person types: the start of a word, accents ignored ("nordsj" finds Nordsjö Fisk AB).
            page.fill("#tx-search", "nordsj")
            deadline = time.monotonic() + 15
            found: list[str] = []
            while time.monotonic() < deadline:
                if page.locator("#tx-table").get_attribute("aria-busy") == "false":
                    found = rows.all_inner_texts()
                    if found and all("Nordsjö" in text for text in found):
                        break
                time.sleep(0.2)
            assert found, "nothing found for 'nordsj'"
            assert all("Nordsjö" in text for text in found), found[:3]
            page.screenshot(path=ARTIFACTS / "04b-search.png", full_page=True)
            page.fill("#tx-search", "")
            expect(page.locator("#tx-empty")).to_be_hidden()
            check_transactions(page, ARTIFACTS)

            # Right after the first sync, nothing else written: the chart draws every day of the imported history,
            # derived from the bank's booked balance and the booked transactions, the bank's own day a point on it.
            account = page.locator("#accounts .account").first
            account.click()
            line = page.locator("#balance-chart svg.chart-svg polyline.chart-line")
            expect(line).to_be_visible()
            caption = page.locator("#balance-chart .chart-caption")
            expect(caption).to_contain_text("derived, counted from the bank's booked balance")
            expect(caption).to_contain_text("every one agrees with the transactions")  # the sandbox reconciles
            expect(page.locator("#balance-chart circle.chart-reported")).to_have_count(1)
            expect(page.locator("#balance-chart .chart-drifts")).to_have_count(0)
            days = re.search(r"(\d+) days:", caption.inner_text())
            assert days, caption.inner_text()
            assert len((line.get_attribute("points") or "").split()) == int(days.group(1)) > 30
            expect(page.locator("#tx-account")).to_have_value(account.get_attribute("data-account-id") or "")
            page.screenshot(path=ARTIFACTS / "05-balance-history.png", full_page=True)

            _connect_enablebanking_bank(page, stack)
            check_daily_use(page, stack.api_url, ARTIFACTS)
            assert not page_errors, f"the page's scripts failed: {page_errors}"
        except Exception:
            page.screenshot(path=ARTIFACTS / "failure.png", full_page=True)
            raise
        finally:
            browser.close()
    Shared.email = email


def _connect_enablebanking_bank(page: Any, stack: DevStack) -> None:
    """The second provider on the same page: its bank in the picker, its consent page (a test customer, Approve),
    back through its callback, the first sync, and its own transactions listed beside the GoCardless bank's."""
    from playwright.sync_api import expect

    expect(page.locator(".connection-card[data-provider=gocardless]")).to_contain_text("via GoCardless")
    # "Connect a bank" offers both providers' banks, each saying which: both sandboxes have a Thistle Bank in GB.
    page.click("#connect-toggle")  # folded away once a bank is connected: "Connect another bank"
    expect(page.locator("#country")).to_have_value("GB")  # the country chosen before, remembered across the reload
    thistle = page.locator("#bank-list .bank-option", has_text="Thistle Bank")
    for provider in ("GoCardless", "Enable Banking"):
        expect(thistle.filter(has=page.locator(".bank-provider", has_text=provider))).to_have_count(1)
    page.select_option("#country", "FI")
    option = page.locator("#bank-list .bank-option", has_text=EB_BANK).filter(
        has=page.locator(".bank-provider", has_text="Enable Banking")
    )
    expect(option).to_have_count(1)
    page.wait_for_function(PICKER_LOGO_LOADED, arg=option.get_attribute("data-institution-id"))  # an SVG
    option.locator("input[name=institution]").check()
    page.click("#connect")
    page.wait_for_url(f"{stack.enablebanking_sandbox_url}/**")

    # `make dev` serves finsync over http: the page also offers to paste the address the bank sends the person
    # back to, on the pending connection's card, for whoever comes back without it. Text that is no such address
    # is refused with the API's sentence; the consent page is still there to answer.
    page.go_back()
    pending = page.locator(".connection-card[data-provider=enablebanking]")
    expect(pending).to_have_attribute("data-status", "pending")
    expect(pending.locator("details.paste-redirect")).to_have_attribute("open", "")
    pending.locator("input.paste-url").fill("https://example.com/not-the-bank")
    pending.locator("button.paste-submit").click()
    expect(pending.locator(".paste-error")).to_contain_text("not the address the bank sent you back to")
    page.screenshot(path=ARTIFACTS / "06-enablebanking-pending.png", full_page=True)
    page.go_forward()
    page.wait_for_url(f"{stack.enablebanking_sandbox_url}/**")
    expect(page.locator("body")).to_contain_text(EB_BANK)
    page.check("input[name=customer][value=alice]")
    page.screenshot(path=ARTIFACTS / "07-enablebanking-consent.png", full_page=True)
    page.click("button[value=approve]")

    # Back through finsync's Enable Banking callback: linked, its first sync under way, then completed.
    page.wait_for_url(f"{stack.api_url}/**")
    expect(page.locator("#notice")).to_contain_text("Bank connected")
    expect(page.locator("#country")).to_have_value("FI")  # the last country chosen, on this new visit
    expect(page.locator(".connection-card")).to_have_count(2)
    card = page.locator(".connection-card[data-provider=enablebanking]")
    expect(card).to_contain_text("via Enable Banking")
    expect(card).to_have_attribute("data-status", "active")
    expect(card.locator("details.paste-redirect")).to_have_count(0)
    expect(card).to_have_attribute("data-job-state", "completed", timeout=120_000)
    expect(card.locator(".last-sync")).not_to_contain_text("never")
    expect(page.locator("#connections")).not_to_contain_text("null")  # no missing value written out as text

    # Both banks' accounts are listed; an Enable Banking account shows its own transactions.
    banks = page.locator("#accounts .account .account-bank")
    expect(banks.filter(has_text=GOCARDLESS_BANK).first).to_be_visible()
    expect(banks.filter(has_text=EB_BANK).first).to_be_visible()
    account = page.locator("#accounts .account").filter(has=page.locator(".account-bank", has_text=EB_BANK)).first
    account_id = account.get_attribute("data-account-id") or ""
    account.locator(".account-select").click()
    expect(page.locator("#tx-account")).to_have_value(account_id)
    # Rows of one account do not name their account (those of all accounts do): the list shown is this account's.
    expect(page.locator("#tx-table tbody .tx-account")).to_have_count(0)
    expect(page.locator("#tx-table")).to_have_attribute("aria-busy", "false")
    rows = page.locator("#tx-table tbody tr.tx")
    expect(rows.first).to_be_visible()
    assert rows.count() > 0
    page.screenshot(path=ARTIFACTS / "08-enablebanking-synced.png", full_page=True)

    # The account renamed in place (issue 15, item 4): Enter saves, the card and the account filter say the new
    # name, focus is back on Rename, and the visible accounts are totalled.
    card = page.locator(f"#accounts .account[data-account-id='{account_id}']")
    card.locator(".rename-open").click()
    card.locator(".rename-input").fill("Holiday money")
    card.locator(".rename-input").press("Enter")
    expect(card.locator(".account-name")).to_have_text("Holiday money")
    expect(card.locator(".rename-open")).to_be_focused()
    expect(page.locator("#tx-account option:checked")).to_have_text("Holiday money")
    expect(page.locator("#account-totals .total").first).to_be_visible()

    # Hidden, it leaves the accounts and their totals for the folded "hidden accounts" (focus on its summary), keeps
    # its data, and comes back with Show (focus on its Hide button again).
    totals = page.locator("#account-totals").text_content() or ""
    card.locator(".account-hide").click()
    expect(page.locator(f"#accounts .account[data-account-id='{account_id}']")).to_have_count(0)
    expect(page.locator("#hidden-accounts-summary")).to_be_focused()
    expect(page.locator("#account-totals")).not_to_have_text(totals)
    page.locator("#hidden-accounts-summary").click()
    hidden = page.locator(f"#hidden-accounts-list .account[data-account-id='{account_id}']")
    hidden.locator(".account-hide").click()
    expect(card.locator(".account-hide")).to_be_focused()
    expect(page.locator("#account-totals")).to_have_text(totals)
    expect(page.locator("#hidden-accounts")).to_be_hidden()

    # The connection renamed in place, as the account was.
    connection = page.locator(".connection-card[data-provider=enablebanking]")
    connection.locator(".rename-open").click()
    connection.locator(".rename-input").fill("Travel bank")
    connection.locator(".rename-input").press("Enter")
    expect(connection.locator(".connection-name")).to_have_text("Travel bank")
    expect(connection.locator(".rename-open")).to_be_focused()


def _executing(job: dict[str, Any]) -> bool:
    assert job["status"] in UNFINISHED, job
    return job["status"] == "running" and (job.get("progress") or {}).get("done", 0) >= 1


def test_ctrl_c_mid_sync_leaves_no_process_and_a_second_start_reuses_the_data(
    stack: DevStack, stack_env: dict[str, str], data_dir: Path
) -> None:
    # As the demo user, through the API: connect the sandbox bank and catch its first sync while it executes, so
    # that Ctrl-C meets a Dagster run worker in the middle of its work.
    with signed_in(stack.api_url, DEMO_EMAIL, DEMO_PASSWORD) as demo:
        connection_id, interrupted_job = connect_sandbox_bank(demo)
        wait_for_job(demo, interrupted_job, until=_executing, timeout=60)
    before = stack_processes(data_dir)
    names = " ".join(before.values())
    for part in ("src.cli sandbox", "dagster dev", "dagster_webserver", "dagster._daemon", "uvicorn", "postgres"):
        assert part in names, f"{part!r} is not running under make dev: {sorted(before.values())}"
    # The run worker: a process Dagster's code server spawns for the run (DefaultRunLauncher).
    assert "spawn_main" in names, "no Dagster run worker was caught mid-sync"

    # make re-raises the SIGINT once its recipe has ended, as it does at a terminal; finsync itself ends cleanly.
    assert stack.interrupt() in (0, -signal.SIGINT)
    left = left_behind(data_dir)
    assert not left, f"Ctrl-C left these behind: {left}"
    assert "[finsync] stopped" in stack.output()

    again = DevStack(stack_env, data_dir.parent / "make-dev-again.log")
    try:
        again.wait_ready()
        output = again.output()
        assert "Running upgrade" not in output
        assert "already there" in output  # the demo user, not created twice
        # The sync Ctrl-C interrupted says so; Sync now works again (the sandbox kept its consents in the data
        # dir, Dagster its instance), and the bank the page connected is still there.
        with signed_in(again.api_url, DEMO_EMAIL, DEMO_PASSWORD) as demo:
            job = wait_for_job(demo, interrupted_job)
            assert job["status"] in ("failed", "canceled"), job
            assert job["error_message"], job
            started = demo.post(f"/api/connections/{connection_id}/sync")
            assert started.status_code == 202, started.text
            assert wait_for_job(demo, started.json()["id"])["status"] == "completed"
        if Shared.email:
            with signed_in(again.api_url, Shared.email, E2E_PASSWORD) as user:
                connections = user.get("/api/connections").json()["items"]
            assert sorted(item["provider"] for item in connections) == ["enablebanking", "gocardless"]
            assert all(item["last_synced_at"] is not None for item in connections), connections
        assert again.interrupt() in (0, -signal.SIGINT)
        assert "[finsync] stopped" in again.output()
    finally:
        again.close()
    assert not left_behind(data_dir)
