"""The SimpleFIN sandbox's own settings, read from its own variables (nothing from `src/settings.py`).

SANDBOX_SIMPLEFIN_PUBLIC_URL: the root the Access URLs and setup tokens point at (default: the address served).
SANDBOX_SIMPLEFIN_STATE_FILE (or `--state-file`): keep Access URLs, used tokens and the clock across restarts.
SANDBOX_SIMPLEFIN_WARN_AFTER, SANDBOX_SIMPLEFIN_BLOCK_AFTER: `/accounts` requests per Access URL per day after which
the answer carries a warning (48, as the Bridge's support describes) and after which it is refused with 403 (96).
"""

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass
class SimpleFinConfig:
    public_url: str | None = None
    state_file: Path | None = None
    warn_after: int = 48
    block_after: int = 96

    @classmethod
    def from_env(cls) -> "SimpleFinConfig":
        env = os.environ
        state_file = env.get("SANDBOX_SIMPLEFIN_STATE_FILE")
        return cls(
            public_url=env.get("SANDBOX_SIMPLEFIN_PUBLIC_URL") or None,
            state_file=Path(state_file) if state_file else None,
            warn_after=int(env.get("SANDBOX_SIMPLEFIN_WARN_AFTER", "48")),
            block_after=int(env.get("SANDBOX_SIMPLEFIN_BLOCK_AFTER", "96")),
        )
