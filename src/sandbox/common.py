"""What the GoCardless and Enable Banking sandboxes do alike, written once.

The movable clock, ids, saving the world to a state file, the control surface's request parsing and clock
endpoint, the consent page's frame, and the deterministic helpers account histories are made from. Payload shapes,
error bodies, fault rules and counters differ between the two providers and stay in each sandbox.
"""

import hashlib
import html
import json
import random
import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


# -- the clock ----------------------------------------------------------------------------------------------------
class Clock:
    """The sandbox's time: the real time moved by `clock_offset`, which the `/_sandbox/clock` control advances."""

    clock_offset: timedelta

    def now(self) -> datetime:
        return utcnow() + self.clock_offset

    def today(self) -> date:
        return self.now().date()

    def seconds_to_midnight(self) -> int:
        now = self.now()
        tomorrow = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
        return max(1, int((tomorrow - now).total_seconds()))


# -- a sandbox's world -------------------------------------------------------------------------------------------
class _Persisted(Protocol):
    state_file: Path | None


ConfigT = TypeVar("ConfigT", bound=_Persisted)


class World(Clock, Generic[ConfigT]):
    """A sandbox's world: made afresh (`reset`), then read back from its state file when one is kept (`make dev`
    keeps one, so its connections survive a restart)."""

    def __init__(self, config: ConfigT) -> None:
        self.config = config
        self.reset()
        if config.state_file is not None and config.state_file.exists():
            self.load(config.state_file)

    def reset(self) -> None:
        raise NotImplementedError

    def save(self) -> None:
        """Write the world to the state file, when one is kept: the clock, and what `saved` names."""
        if self.config.state_file is not None:
            write_state(
                self.config.state_file, {"clock_offset_seconds": self.clock_offset.total_seconds(), **self.saved()}
            )

    def load(self, path: Path) -> None:
        data = json.loads(path.read_text())
        self.clock_offset = timedelta(seconds=data.get("clock_offset_seconds", 0))
        self.restore(data)

    def saved(self) -> dict[str, Any]:
        """What outlives a restart besides the clock, as JSON can hold it."""
        raise NotImplementedError

    def restore(self, data: dict[str, Any]) -> None:
        """The inverse of `saved`."""
        raise NotImplementedError


# -- persistence --------------------------------------------------------------------------------------------------
def write_state(path: Path, data: dict[str, Any]) -> None:
    """Write the state file whole or not at all (a temporary file moved into place), so a crash never halves it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(data))
    temporary.replace(path)


def dump_row(row: dict[str, Any]) -> dict[str, Any]:
    """A dataclass's fields as JSON can hold them: datetimes become ISO 8601 strings."""
    return {key: value.isoformat() if isinstance(value, datetime) else value for key, value in row.items()}


def undump_row(row: dict[str, Any], datetime_fields: frozenset[str]) -> dict[str, Any]:
    """The inverse of `dump_row` for the named datetime fields."""
    return {
        key: datetime.fromisoformat(value) if key in datetime_fields and isinstance(value, str) else value
        for key, value in row.items()
    }


# -- the control surface ------------------------------------------------------------------------------------------
class _ClockState(Protocol):
    clock_offset: timedelta

    def now(self) -> datetime: ...

    def today(self) -> date: ...


def bad(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def read_json(request: Request) -> dict[str, Any]:
    """A control's JSON object body; an empty body or one that is not an object reads as {}."""
    raw = await request.body()
    if not raw.strip():
        return {}
    body = await request.json()
    return body if isinstance(body, dict) else {}


def advance_clock(state: _ClockState, body: dict[str, Any]) -> None:
    state.clock_offset += timedelta(
        days=float(body.get("advance_days", 0)), seconds=float(body.get("advance_seconds", 0))
    )


def clock_payload(state: _ClockState, now: str) -> dict[str, Any]:
    """What `/_sandbox/clock` answers; `now` is already written the sandbox's own way."""
    return {"now": now, "today": state.today().isoformat(), "offset_seconds": state.clock_offset.total_seconds()}


# -- the consent page ---------------------------------------------------------------------------------------------
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: system-ui, sans-serif; max-width: 32rem; margin: 3rem auto; padding: 0 1rem; color: #1d2330; }}
h1 {{ font-size: 1.4rem; }} .bank {{ color: #555; }} label {{ display: block; margin: .4rem 0; }}
button {{ font-size: 1rem; padding: .5rem 1.2rem; margin-right: .6rem; border-radius: 6px; border: 1px solid #888; }}
button[value=approve] {{ background: #1f7a4d; color: white; border-color: #1f7a4d; }}
.note {{ font-size: .85rem; color: #666; margin-top: 2rem; }}
</style></head><body>{body}</body></html>"""


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    """The consent page's frame around `body` (HTML the caller has escaped); `title` is escaped here."""
    return HTMLResponse(_PAGE.format(title=html.escape(title), body=body), status_code=status)


class _Customer(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def accounts(self) -> int: ...


def login_form(customers: Iterable[_Customer], default: str) -> str:
    """The page's form: one radio button a test customer (`default` checked), then Approve and Deny."""
    options = "".join(
        f'<label><input type="radio" name="customer" value="{c.id}"{" checked" if c.id == default else ""}>'
        f" {html.escape(c.name)} <small>({c.accounts} account{'' if c.accounts == 1 else 's'})</small></label>"
        for c in customers
    )
    return (
        '<form method="post"><fieldset><legend>Log in as</legend>'
        f"{options}</fieldset><p>"
        '<button type="submit" name="action" value="approve">Approve</button>'
        '<button type="submit" name="action" value="deny">Deny</button></p></form>'
    )


def with_query(url: str, params: dict[str, str]) -> str:
    """`url` with `params` added to whatever query it already has."""
    parts = urlsplit(url)
    query = f"{parts.query}&{urlencode(params)}" if parts.query else urlencode(params)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


# -- deterministic history helpers --------------------------------------------------------------------------------
def digits(text: str, count: int) -> str:
    """`count` decimal digits that depend on `text` alone (its SHA-256), for ids and account numbers."""
    number = int(hashlib.sha256(text.encode()).hexdigest(), 16)
    return str(number)[-count:].rjust(count, "0")


def iban(country: str, bban: str) -> str:
    """A valid ISO 13616 IBAN (mod-97 check digits) for `country` and `bban`."""
    numeric = "".join(str(int(character, 36)) for character in bban + country + "00")
    return f"{country}{98 - int(numeric) % 97:02d}{bban}"


def money(rng: random.Random, low: float, high: float) -> Decimal:
    """An amount between `low` and `high` in whole cents, drawn from `rng` (exactly `low` when they are equal)."""
    if low == high:
        return Decimal(str(low)).quantize(Decimal("0.01"))
    return (Decimal(rng.randrange(int(low * 100), int(high * 100) + 1)) / 100).quantize(Decimal("0.01"))
