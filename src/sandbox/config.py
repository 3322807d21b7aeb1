"""The sandbox's own settings (it reads nothing from `src/settings.py`)."""

import os
from dataclasses import dataclass, field
from pathlib import Path

# Company-wide limits of the real API: (calls, window in seconds). Every one can be changed at run time.
GENERAL_LIMITS: dict[str, tuple[int, int]] = {
    "token_new": (100, 3600),
    "token_refresh": (100, 60),
    "account_data": (100, 60),
    "institutions": (300, 60),
    "create": (100, 60),
    "read": (300, 60),
    "accept": (100, 60),
    "delete": (100, 60),
}


@dataclass
class SandboxConfig:
    secret_id: str = "sandbox-secret-id"  # noqa: S105 - the sandbox's public test credentials
    secret_key: str = "sandbox-secret-key"  # noqa: S105
    public_url: str | None = None
    access_lifetime_seconds: int = 86_400
    refresh_lifetime_seconds: int = 2_592_000
    account_daily_limit: int = 4
    general_limits: dict[str, tuple[int, int]] = field(default_factory=lambda: dict(GENERAL_LIMITS))
    state_file: Path | None = None

    @classmethod
    def from_env(cls) -> "SandboxConfig":
        env = os.environ
        state_file = env.get("SANDBOX_STATE_FILE")
        return cls(
            secret_id=env.get("SANDBOX_SECRET_ID", "sandbox-secret-id"),
            secret_key=env.get("SANDBOX_SECRET_KEY", "sandbox-secret-key"),
            public_url=env.get("SANDBOX_PUBLIC_URL") or None,
            access_lifetime_seconds=int(env.get("SANDBOX_ACCESS_TOKEN_LIFETIME", "86400")),
            refresh_lifetime_seconds=int(env.get("SANDBOX_REFRESH_TOKEN_LIFETIME", "2592000")),
            account_daily_limit=int(env.get("SANDBOX_ACCOUNT_DAILY_LIMIT", "4")),
            state_file=Path(state_file) if state_file else None,
        )
