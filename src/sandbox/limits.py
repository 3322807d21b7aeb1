"""Rate limits: the company-wide windows on every call and the per-account, per-scope daily allowance."""

import time

from starlette.responses import Response

from src.sandbox.state import SandboxState

# (method, path prefix) → general bucket. The first match wins.
_BUCKETS: tuple[tuple[str, str, str], ...] = (
    ("POST", "/api/v2/token/new/", "token_new"),
    ("POST", "/api/v2/token/refresh/", "token_refresh"),
    ("GET", "/api/v2/accounts/", "account_data"),
    ("GET", "/api/v2/institutions/", "institutions"),
    ("POST", "/api/v2/agreements/enduser/", "create"),
    ("POST", "/api/v2/requisitions/", "create"),
    ("PUT", "/api/v2/agreements/enduser/", "accept"),
    ("DELETE", "/api/v2/", "delete"),
    ("GET", "/api/v2/", "read"),
    ("POST", "/api/v2/", "read"),
)


def bucket_for(method: str, path: str) -> str:
    for bucket_method, prefix, bucket in _BUCKETS:
        if method == bucket_method and path.startswith(prefix):
            if bucket == "create" and path.rstrip("/").count("/") > 4:
                continue  # POST …/reconfirm/ is not a create
            return bucket
    return "read"


def period_name(seconds: int) -> str:
    return {60: "minute", 3600: "hour", 86400: "day"}.get(seconds, f"{seconds}s")


def take_general(state: SandboxState, bucket: str) -> tuple[bool, dict[str, str], int, int, int]:
    """Count one call against `bucket`; (allowed, headers, limit, reset seconds, window)."""
    limit, window = state.general_limits[bucket]
    now = time.monotonic()
    started, count = state.windows.get(bucket, (now, 0))
    if now - started >= window:
        started, count = now, 0
    allowed = count < limit
    if allowed:
        count += 1
    state.windows[bucket] = (started, count)
    reset = max(1, int(window - (now - started)))
    headers = {
        "HTTP_X_RATELIMIT_LIMIT": str(limit),
        "HTTP_X_RATELIMIT_REMAINING": str(max(0, limit - count)),
        "HTTP_X_RATELIMIT_RESET": str(reset),
    }
    return allowed, headers, limit, reset, window


def account_headers(state: SandboxState, account_id: str, scope: str) -> dict[str, str]:
    account = state.accounts[account_id]
    used = account.usage.get(f"{scope}|{state.today().isoformat()}", 0)
    limit = state.account_daily_limit
    return {
        "HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_LIMIT": str(limit),
        "HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_REMAINING": str(max(0, limit - used)),
        "HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_RESET": str(state.seconds_to_midnight()),
    }


def used_today(state: SandboxState, account_id: str, scope: str) -> int:
    return state.accounts[account_id].usage.get(f"{scope}|{state.today().isoformat()}", 0)


def record_success(state: SandboxState, account_id: str, scope: str) -> None:
    account = state.accounts[account_id]
    key = f"{scope}|{state.today().isoformat()}"
    account.usage[key] = account.usage.get(key, 0) + 1


def with_headers(response: Response, headers: dict[str, str]) -> Response:
    for name, value in headers.items():
        response.headers[name] = value
    return response
