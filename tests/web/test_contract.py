"""The page cannot drift from the API: every path its scripts call exists in the OpenAPI document, and the
selectors the end-to-end test drives stay in the markup and scripts."""

import json
import re
import shutil
import subprocess
from typing import Any

import pytest
from fastapi.testclient import TestClient

from src.api.web import WEB_DIR
from src.models.enums import (
    UNFINISHED_JOB_STATUSES,
    AccountStatus,
    ConnectionStatus,
    GcScope,
    JobStatus,
    JobTrigger,
    Provider,
    TransactionStatus,
)
from src.sandbox.catalogue import Institution
from tests.harness.sandbox import PROJECT_ROOT

PATH_LITERAL = re.compile(r"""(["'`])(/(?:api|auth)/[^"'`\s]+)\1""")
TEMPLATE_HOLE = re.compile(r"\$\{[^}]*\}")
OPENAPI_PARAMETER = re.compile(r"\{[^}]+\}")

PAGE_IDS = [
    "auth", "email", "password", "login", "register", "auth-hint", "auth-error",
    "app", "signed-in-as", "logout", "notice", "notice-bar", "notice-dismiss", "provider-problems",
    "connect-form", "country", "institution", "bank-list", "bank-count", "friendly-name", "connect", "connections",
    "accounts", "balance-chart", "account-totals", "hidden-accounts", "hidden-accounts-summary",
    "hidden-accounts-list",
    "transactions", "tx-account", "tx-from", "tx-to", "tx-search", "tx-status", "tx-min", "tx-max", "tx-table",
    "load-more", "tx-empty", "tx-direction", "tx-clear", "tx-summary",
]  # fmt: skip
SCRIPT_NAMES = [
    "connection-card", "connectionId", "status", "expiry", "last-sync", "sync-now", "job-status", "jobState",
    "account", "accountId", "tx", "transactionId", "Rate limited until", "Synced ✓", "Syncing…",
    "provider", "paste-url", "paste-submit", "paste-error", "Paste the address your bank sent you back to",
    "next-sync", "bank-reads", "sync-blocked", "job-history", "Background sync", "Sync now",
    "rename-open", "rename-input", "rename-save", "rename-cancel", "rename-error", "renameKey",
    "account-manage", "account-hide", "hide-error", "balance-type", "total", "totals-note",
    "Try again", "Remove", "renew", "delete",
]  # fmt: skip
# What a connection card reads of `background_sync` (src/web/background.js), as the API documents it.
BACKGROUND_SYNC_FIELDS = {
    "ConnectionRead": {"background_sync", "provider"},
    "BackgroundSyncRead": {"next_sync_at", "accounts"},
    "AccountAllowanceRead": {"scopes"},
    "ScopeAllowance": {"scope", "limit", "remaining", "resets_at"},
}
SNAKE_CASE_FIELD = re.compile(r"\.([a-z]+(?:_[a-z0-9]+)+)\b")
METHOD_CALL = re.compile(r"""api\(\s*(["'`])([^"'`]+)\1,\s*\{[^}]*?method:\s*["']([A-Z]+)["']""")
# What the page's PATCH calls send (renaming and hiding accounts, renaming connections), by path: fields of the
# operation's documented request body.
PATCH_BODIES = {
    "/api/accounts/{}": ("app.js", {"display_name", "hidden"}),
    "/api/connections/{}": ("connections.js", {"friendly_name"}),
}
QUERY_CALL = re.compile(r"""api\(\s*(["'`])([^"'`]+)\1,\s*\{\s*query:\s*\{([^}]*)\}""")
# A fixed `error` code a bank callback answers with (the code itself, not the bank's own words).
CALLBACK_CODE = re.compile(r"""CallbackResult\([^)]*"([a-z_]+)"\)""")


def _scripts() -> dict[str, str]:
    return {path.name: path.read_text() for path in sorted(WEB_DIR.glob("*.js"))}


def _called_paths() -> set[str]:
    found = set()
    for text in _scripts().values():
        for _, literal in PATH_LITERAL.findall(text):
            found.add(TEMPLATE_HOLE.sub("{}", literal).split("?", 1)[0])
    return found


def test_every_path_the_page_calls_is_in_the_openapi_document(client: TestClient) -> None:
    documented = {OPENAPI_PARAMETER.sub("{}", path) for path in client.get("/openapi.json").json()["paths"]}
    called = _called_paths()
    assert len(called) >= 12, called  # the pattern still finds the calls
    assert called - documented == set()


def test_every_script_the_page_imports_is_there() -> None:
    scripts = _scripts()
    for text in scripts.values():
        for module in re.findall(r"""from\s+["']\./([^"']+)["']""", text):
            assert module in scripts, module


def test_no_script_writes_html() -> None:
    """Bank and user data only ever go in as text."""
    for name, text in _scripts().items():
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in text, (name, sink)


@pytest.mark.parametrize("element_id", PAGE_IDS)
def test_the_page_keeps_its_ids(element_id: str) -> None:
    assert f'id="{element_id}"' in (WEB_DIR / "index.html").read_text()


def test_the_scripts_keep_their_selectors_and_messages() -> None:
    text = "\n".join(_scripts().values())
    for name in SCRIPT_NAMES:
        assert name in text, name


def test_the_page_ends_polling_on_exactly_the_apis_terminal_job_statuses() -> None:
    """A card's `data-job-state` is the job's status; polling stops on these (a status the API adds later that
    is not terminal must not end it)."""
    declared = re.search(r"TERMINAL_JOB_STATUSES = new Set\(\[([^\]]*)\]\)", _scripts()["connections.js"])
    assert declared is not None
    terminal = set(re.findall(r'"(\w+)"', declared.group(1)))
    assert terminal == {status.value for status in JobStatus} - {status.value for status in UNFINISHED_JOB_STATUSES}


def _js_set(name: str, script: str) -> set[str]:
    declared = re.search(rf"{name} = new Set\(\[([^\]]*)\]\)", _scripts()[script])
    assert declared is not None, name
    return set(re.findall(r'"(\w+)"', declared.group(1)))


def test_a_failed_connection_offers_a_retry_the_api_accepts() -> None:
    """A refused or failed connect ("Try again") starts a new consent through reauthorise, which the API allows for
    every status but pending (and active before it is expiring): the card never offers a retry the API refuses."""
    failed = _js_set("FAILED_STATUSES", "connections.js")
    renewable = _js_set("RENEWABLE_STATUSES", "connections.js")
    statuses = {status.value for status in ConnectionStatus}
    assert failed == {ConnectionStatus.rejected.value, ConnectionStatus.error.value}
    assert failed <= renewable <= statuses - {ConnectionStatus.pending.value, ConnectionStatus.active.value}


def test_the_notice_can_be_dismissed() -> None:
    """The banner's dismiss button has the accessible name "Dismiss" and the page wires it up."""
    page = (WEB_DIR / "index.html").read_text()
    assert re.search(r'<button id="notice-dismiss" type="button"[^>]*aria-label="Dismiss"', page)
    assert '$("#notice-dismiss").addEventListener("click"' in _scripts()["app.js"]


def _js_object_keys(name: str, script: str) -> set[str]:
    declared = re.search(rf"{name} = \{{(.*?)\n?\}};", _scripts()[script], re.S)
    assert declared is not None, name
    return set(re.findall(r"""(?:^|[{,])\s*(\w+):\s*["']""", declared.group(1), re.M))


def test_the_page_names_every_provider_the_api_knows() -> None:
    """Banks in the picker and connection cards say their provider in words ("Mock ASPSP · Enable Banking")."""
    assert _js_object_keys("PROVIDER_NAMES", "providers.js") == {provider.value for provider in Provider}


def test_every_fixed_callback_error_has_a_sentence() -> None:
    """The callback's redirect (and the pasted address's answer) carry a code: each one finsync itself sets is said
    in words, for both providers."""
    codes = set()
    for path in (PROJECT_ROOT / "src" / "connections").glob("*.py"):
        codes.update(CALLBACK_CODE.findall(path.read_text()))
    assert {"unknown_reference", "already_used", "gocardless_unavailable", "enablebanking_unavailable"} <= codes
    assert codes <= _js_object_keys("CALLBACK_MESSAGES", "providers.js")


def _openapi(client: TestClient) -> dict[str, Any]:
    document: dict[str, Any] = client.get("/openapi.json").json()
    return document


def test_every_field_the_page_reads_is_documented(client: TestClient) -> None:
    """A field the API renames or drops fails here rather than showing as nothing on the page: every snake_case
    name the scripts read (`.next_sync_at`, `.retry_at`, …) is a documented property or query parameter."""
    document = _openapi(client)
    documented = {
        name for schema in document["components"]["schemas"].values() for name in schema.get("properties", {})
    }
    for operations in document["paths"].values():
        for operation in operations.values():
            documented.update(parameter["name"] for parameter in operation.get("parameters", []))
    read = {name for text in _scripts().values() for name in SNAKE_CASE_FIELD.findall(text)}
    assert {"background_sync", "next_sync_at", "resets_at", "retry_at"} <= read  # the pattern still finds them
    assert read - documented == set()


def test_the_card_reads_the_background_sync_as_documented(client: TestClient) -> None:
    schemas = _openapi(client)["components"]["schemas"]
    script = _scripts()["background.js"]
    for schema, fields in BACKGROUND_SYNC_FIELDS.items():
        assert fields <= set(schemas[schema]["properties"]), schema
        for field in fields:
            assert f".{field}" in script, field
    assert set(schemas["ScopeAllowance"]["required"]) >= BACKGROUND_SYNC_FIELDS["ScopeAllowance"]


def test_the_card_shows_scopes_the_api_knows() -> None:
    declared = re.search(r"SHOWN_SCOPES = \[([^\]]*)\]", _scripts()["background.js"])
    assert declared is not None
    assert set(re.findall(r'"(\w+)"', declared.group(1))) == {GcScope.transactions.value, GcScope.balances.value}


def test_every_query_parameter_the_page_sends_is_documented(client: TestClient) -> None:
    paths = {OPENAPI_PARAMETER.sub("{}", path): item for path, item in _openapi(client)["paths"].items()}
    calls = [call for text in _scripts().values() for call in QUERY_CALL.findall(text)]
    assert len(calls) >= 4, calls  # the pattern still finds them (the job history's among them)
    for _, literal, query in calls:
        path = TEMPLATE_HOLE.sub("{}", literal)
        sent = {part.split(":")[0].strip() for part in query.split(",") if part.strip()}
        parameters = {parameter["name"] for parameter in paths[path]["get"].get("parameters", [])}
        assert sent <= parameters, (path, sent - parameters)


def test_the_job_history_names_every_trigger() -> None:
    """Each job in a card's "Recent syncs" says who started it: the background sync or the person's Sync now."""
    assert _js_object_keys("TRIGGER_NAMES", "history.js") == {trigger.value for trigger in JobTrigger}


def test_every_provider_says_why_bank_reads_are_few() -> None:
    """In plain words (issue 15): banks allow about four reads a day."""
    assert _js_object_keys("QUOTA_SENTENCES", "background.js") == {provider.value for provider in Provider}
    declared = re.search(r"QUOTA_SENTENCES = \{(.*?)\n\};", _scripts()["background.js"], re.S)
    assert declared is not None
    assert declared.group(1).count("about four") == len(Provider)


def test_every_method_the_page_uses_is_documented_for_its_path(client: TestClient) -> None:
    paths = {OPENAPI_PARAMETER.sub("{}", path): item for path, item in _openapi(client)["paths"].items()}
    calls = {
        (TEMPLATE_HOLE.sub("{}", literal), method.lower())
        for text in _scripts().values()
        for _, literal, method in METHOD_CALL.findall(text)
    }
    assert {("/api/accounts/{}", "patch"), ("/api/connections/{}", "patch")} <= calls, calls
    assert {("/api/connections/{}", "delete"), ("/api/connections/{}/sync", "post")} <= calls, calls
    for path, method in calls:
        assert method in paths[path], (path, method)


def test_the_page_sends_documented_fields_when_it_renames_and_hides(client: TestClient) -> None:
    document = _openapi(client)
    paths = {OPENAPI_PARAMETER.sub("{}", path): item for path, item in document["paths"].items()}
    for path, (script, fields) in PATCH_BODIES.items():
        body = paths[path]["patch"]["requestBody"]["content"]["application/json"]["schema"]
        schema = document["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]
        assert fields <= set(schema["properties"]), (path, fields - set(schema["properties"]))
        text = _scripts()[script]
        for field in fields:
            assert re.search(rf"\b{field}\b", text), (script, field)
    # Hiding is a documented boolean, never null.
    account_update = document["components"]["schemas"]["AccountUpdate"]["properties"]
    assert account_update["hidden"]["type"] == "boolean"
    # The rename fields hold what the API accepts.
    assert "maxLength = 100" in _scripts()["rename.js"]
    assert account_update["display_name"]["anyOf"][0]["maxLength"] == 100


def _words(name: str) -> dict[str, str]:
    declared = re.search(rf"{name} = \{{(.*?)\n\}};", _scripts()["words.js"], re.S)
    assert declared is not None, name
    return dict(re.findall(r"""^\s*(\w+):\s*"([^"]+)",""", declared.group(1), re.M))


def test_every_transaction_status_has_words() -> None:
    """Issue 15 item 9: "booked" is shown as "Cleared", the exact term on hover."""
    words = _words("TRANSACTION_STATUS_WORDS")
    assert set(words) == {status.value for status in TransactionStatus}
    assert words["booked"] == "Cleared"


def test_every_connection_and_account_status_has_its_own_words() -> None:
    """A connection's and an account's status are said in words too ("expired" is "Consent ended"), each its own,
    and the cards show them through words.js (the exact term on hover) rather than the raw term."""
    connection_words = _words("CONNECTION_STATUS_WORDS")
    account_words = _words("ACCOUNT_STATUS_WORDS")
    assert set(connection_words) == {status.value for status in ConnectionStatus}
    assert set(account_words) == {status.value for status in AccountStatus}
    for words in (connection_words, account_words):
        assert len(set(words.values())) == len(words), words
        assert all(word != term for term, word in words.items()), words
    scripts = _scripts()
    assert "connectionStatusLabel(connection.status" in scripts["connections.js"]
    assert "text: connection.status" not in scripts["connections.js"]
    assert "accountStatusLabel(account.status" in scripts["app.js"]
    assert "text: account.status" not in scripts["app.js"]


def test_every_balance_type_the_banks_send_has_words() -> None:
    """The balance types of the sandboxes' banks (GoCardless names, Enable Banking's ISO 20022 codes) and the
    documented example are said in words, each its own."""
    words = _words("BALANCE_TYPE_WORDS")
    sent = {"closingBooked", "CLBD", "ITAV"} | set(Institution.__dataclass_fields__["balance_types"].default)
    for path in (PROJECT_ROOT / "src" / "sandbox").glob("catalogue.py"):
        for found in re.findall(r"balance_types=\(([^)]*)\)", path.read_text()):
            sent.update(re.findall(r'"(\w+)"', found))
    assert sent <= set(words), sent - set(words)
    assert words["closingBooked"] == words["CLBD"] == "Booked balance"
    assert words["interimAvailable"] == words["ITAV"] == "Available balance"


def test_terms_are_shown_through_the_words_module() -> None:
    """One mapping: every script that shows a balance type or a transaction status takes its words from words.js,
    and none writes the raw term as a row's text."""
    scripts = _scripts()
    for name in ("app.js", "transactions.js", "chart.js"):
        assert re.search(r"""from\s+["']\./words\.js["']""", scripts[name]), name
    assert "text: transaction.status" not in scripts["transactions.js"]
    assert "balanceTypeLabel(balance.type" in scripts["app.js"]
    assert "text: [balance.type" not in scripts["app.js"]


def _node(source: str) -> Any:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    script = f"import * as totals from {json.dumps((WEB_DIR / 'totals.js').as_uri())};\n{source}"
    result = subprocess.run(
        [node, "--input-type=module", "-e", script], capture_output=True, text=True, timeout=30, check=True
    )
    return json.loads(result.stdout)


def test_totals_are_exact_and_per_currency() -> None:
    """The accounts' totals: decimal strings summed exactly (no float: 0.1 + 0.2 is 0.3), one per currency, never
    across currencies, and accounts without a balance counted apart."""
    accounts = [
        {"currency": "EUR", "balance": {"amount": "0.10", "currency": "EUR"}},
        {"currency": "EUR", "balance": {"amount": "0.2", "currency": "EUR"}},
        {"currency": "GBP", "balance": {"amount": "-1250.005", "currency": "GBP"}},
        {"currency": "GBP", "balance": {"amount": "1000", "currency": None}},
        {"currency": "SEK", "balance": None},
    ]
    answer = _node(
        f"console.log(JSON.stringify([totals.totalsByCurrency({json.dumps(accounts)}), "
        'totals.sumDecimals(["99999999999999999.99", "0.01"]), totals.sumDecimals(["-0.5", "0.25"]), '
        'totals.sumDecimals(["1e3"])]));'
    )
    assert answer == [
        {
            "totals": [
                {"currency": "EUR", "amount": "0.30", "count": 2},
                {"currency": "GBP", "amount": "-250.005", "count": 2},
            ],
            "missing": 1,
        },
        "100000000000000000.00",
        "-0.25",
        None,
    ]


def test_the_chart_reads_the_daily_balances_as_documented(client: TestClient) -> None:
    """The chart draws the derived daily balances from the first sync (not the reported snapshots alone), and every
    field it reads of a day is one the API documents."""
    schema = _openapi(client)["components"]["schemas"]["DailyBalanceRead"]
    fields = {"date", "amount", "currency", "derived", "reported", "drift"}
    assert fields <= set(schema["properties"])
    scripts = _scripts()
    assert "/balances/daily`" in scripts["app.js"]
    for field in fields:
        assert f"day.{field}" in scripts["chart.js"], field
    assert "needs two days" not in scripts["chart.js"]


def test_a_drift_is_said_in_exact_amounts() -> None:
    """The sentence under the chart names the bank's figure, the transactions' and the gap, each the API's exact
    string (a float would lose the cent of 99999999999999999.01)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    days = [
        {"date": "2026-03-05", "amount": "1030.25", "currency": "EUR", "reported": "1050.25", "drift": "20.00"},
        {"date": "2026-03-06", "amount": "99999999999999999.01", "currency": "EUR", "reported": "99999999999999999.00",
         "drift": "-0.01"},
    ]  # fmt: skip
    script = (
        'globalThis.navigator = { language: "en-GB" };\n'
        f"const chart = await import({json.dumps((WEB_DIR / 'chart.js').as_uri())});\n"
        f"console.log(JSON.stringify({json.dumps(days)}.map(chart.driftSentence)));"
    )
    result = subprocess.run(
        [node, "--input-type=module", "-e", script], capture_output=True, text=True, timeout=30, check=True
    )
    first, second = json.loads(result.stdout)
    assert first.startswith("Bank reported €1,050.25 on 5 Mar 2026; the transactions give €1,030.25, €20.00 less.")
    assert "€99,999,999,999,999,999.00" in second
    assert "give €99,999,999,999,999,999.01, €0.01 more." in second


def test_the_count_line_asks_for_exactly_the_listings_filters(client: TestClient) -> None:
    """The line over the transactions ("N transactions · +in / −out") comes from the summary, asked with every
    filter the listing takes (none forgotten, so it always counts the list shown), and the form's amount filters
    are the direction and sizes, not signed amounts."""
    paths = _openapi(client)["paths"]
    script = _scripts()["transactions.js"]
    calls = {TEMPLATE_HOLE.sub("{}", literal): query for _, literal, query in QUERY_CALL.findall(script)}
    sent = {part.split(":")[0].strip() for part in calls["/api/transactions/summary"].split(",") if part.strip()}
    listing = {parameter["name"] for parameter in paths["/api/transactions"]["get"]["parameters"]}
    assert sent == listing - {"limit", "cursor", "min_amount", "max_amount"}
    assert {"direction", "min_size", "max_size"} <= sent
    assert "min_amount" not in script
    assert "/api/transactions/${" in script  # a row's details, fetched on demand
    page = (WEB_DIR / "index.html").read_text()
    assert re.search(
        r'<select id="tx-direction"[^>]*>\s*<option value="">All</option>\s*'
        r'<option value="in">Money in</option>\s*<option value="out">Money out</option>',
        page,
    )


def test_the_transactions_never_add_amounts_as_numbers() -> None:
    """Totals are the API's exact strings, shown as they are: the script converts no amount to a float."""
    script = _scripts()["transactions.js"]
    for conversion in ("parseFloat", "Number(", "parseInt", "+total.", "+transaction.", "+detail."):
        assert conversion not in script, conversion


def _bankpicker(source: str) -> Any:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    script = f"import * as picker from {json.dumps((WEB_DIR / 'bankpicker.js').as_uri())};\n{source}"
    result = subprocess.run(
        [node, "--input-type=module", "-e", script], capture_output=True, text=True, timeout=30, check=True
    )
    return json.loads(result.stdout)


def test_the_bank_search_ignores_accents_and_case_as_the_transactions_search_does() -> None:
    """Typing filters banks by every word of the search, folded like `folded_sql` folds transactions: "wisla"
    finds Bank Wisła, "NORDSJ" Nordsjö, "strasse" Straße; a word that is in no name hides the bank."""
    cases = [
        ("Bank Wisła", "wisla"),
        ("Nordsjö Sparbank", "NORDSJ spar"),
        ("Volksbank Straße", "strasse"),
        ("Thistle Bank", "thist ban"),
        ("Thistle Bank", "albion"),
        ("Crédit Agricole", "credit agri"),
    ]
    answer = _bankpicker(
        f"console.log(JSON.stringify({json.dumps(cases)}.map(([name, query]) => picker.matchesQuery(name, query))));"
    )
    assert answer == [True, True, True, True, False, True]


def test_the_last_country_is_remembered_and_a_stale_one_ignored() -> None:
    answer = _bankpicker(
        "const kept = new Map();"
        "const storage = { getItem: (key) => kept.get(key) ?? null, setItem: (key, value) => kept.set(key, value) };"
        "const countries = ['GB', 'FI', 'SE'];"
        "const first = picker.rememberedCountry(storage, countries, 'GB');"
        "picker.rememberCountry(storage, 'FI');"
        "const second = picker.rememberedCountry(storage, countries, 'GB');"
        "picker.rememberCountry(storage, 'ZZ');"
        "const stale = picker.rememberedCountry(storage, countries, 'GB');"
        "const broken = picker.rememberedCountry({ getItem() { throw new Error('denied'); } }, countries, 'GB');"
        "console.log(JSON.stringify([first, second, stale, broken]));"
    )
    assert answer == ["GB", "FI", "GB", "GB"]


def test_the_picker_shows_each_banks_logo_from_finsync_with_a_fallback(client: TestClient) -> None:
    """The logo is an <img> of finsync's own logo route (the page's CSP allows no other origin), decorative
    (`alt=""`: the name is beside it), loaded lazily, with the bank's initials when it answers 404."""
    script = _scripts()["bankpicker.js"]
    assert "src: `/api/institutions/${encodeURIComponent(bank.id)}/logo`" in script
    assert 'alt: ""' in script
    assert 'loading: "lazy"' in script
    assert 'logo.addEventListener("error"' in script
    logo = client.get("/openapi.json").json()["paths"]["/api/institutions/{institution_id}/logo"]["get"]
    assert logo["security"] == []  # an <img> sends no token
    assert "image/png" in logo["responses"]["200"]["content"]
    assert _bankpicker("console.log(JSON.stringify(picker.initials('Albion Building Society')));") == "AB"
