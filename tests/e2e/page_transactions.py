"""The transactions list at a person's scale, checked in the end-to-end run right after the search step
(tests/e2e/test_make_dev.py calls `check_transactions`, with every filter at its default).

- The line over the list counts the whole filtered list ("N transactions · +in / −out"), from the API's summary.
- Money out lists only money going out, and the count follows the filter.
- A row opens its details below it on click (the pending item it was booked from, the bank's ids, the value
  date), and closes them with Enter (keyboard).
- Clear filters puts every filter back, the count with it, and leaves focus on the search box.
"""

import re
from pathlib import Path
from typing import Any

COUNT = re.compile(r"^([0-9][0-9,.\s\u00a0\u202f]*) transactions?\b")


def check_transactions(page: Any, artifacts: Path) -> None:
    from playwright.sync_api import expect

    _settled(page)
    line = page.locator("#tx-summary")
    expect(line).to_have_text(COUNT)
    everything = _count(line.inner_text())
    assert everything > 0, line.inner_text()
    listed = page.locator("#tx-table tbody tr.tx")
    assert listed.count() == min(everything, 50)  # the first page, out of the counted whole

    page.select_option("#tx-direction", "out")
    _settled(page)
    out = _count(line.inner_text())
    assert 0 < out < everything, (out, everything)
    assert listed.count() == min(out, 50)
    amounts = listed.locator(".amount")
    assert amounts.count() == listed.count()
    for text, classes in zip(
        amounts.all_inner_texts(), amounts.evaluate_all("els => els.map(e => e.className)"), strict=True
    ):
        assert "negative" in classes, (text, classes)
        assert re.search(r"[-\u2212]", text), text
    page.screenshot(path=artifacts / "04c-money-out.png", full_page=True)

    first = listed.first
    transaction_id = first.get_attribute("data-transaction-id")
    toggle = first.locator("button.tx-open")
    first.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    details = page.locator(f"#tx-detail-{transaction_id}")
    expect(details).to_be_visible()
    expect(details.locator("dl.tx-detail-list")).to_contain_text("Booking date")
    expect(details.locator("dl.tx-detail-list")).to_contain_text("Value date")
    expect(details.locator("dl.tx-detail-list")).to_contain_text(f"finsync id{transaction_id}")
    page.screenshot(path=artifacts / "04d-row-details.png", full_page=True)
    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(details).to_be_hidden()

    page.fill("#tx-min", "1")
    page.locator("#tx-min").dispatch_event("change")
    _settled(page)
    page.click("#tx-clear")
    _settled(page)
    expect(page.locator("#tx-direction")).to_have_value("")
    expect(page.locator("#tx-min")).to_have_value("")
    expect(page.locator("#tx-search")).to_be_focused()
    assert _count(line.inner_text()) == everything
    assert listed.count() == min(everything, 50)


def _settled(page: Any) -> None:
    """The list and its count answer the filters now in the form (nothing dimmed, nothing loading)."""
    from playwright.sync_api import expect

    expect(page.locator("#tx-table")).to_have_attribute("aria-busy", "false", timeout=15_000)
    expect(page.locator("#tx-table")).not_to_have_class(re.compile(r"\btx-stale\b"))
    expect(page.locator("#tx-summary")).not_to_have_class(re.compile(r"\btx-stale\b"), timeout=15_000)
    expect(page.locator("#tx-summary")).to_have_text(COUNT)


def _count(text: str) -> int:
    found = COUNT.match(text)
    assert found, text
    return int(re.sub(r"\D", "", found.group(1)))
