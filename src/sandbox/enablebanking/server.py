"""Run the Enable Banking sandbox: `finsync sandbox --provider enablebanking --port 8766`."""

import sys
from pathlib import Path

import uvicorn

from src.sandbox.enablebanking.app import create_app
from src.sandbox.enablebanking.config import EnableBankingConfig, EnableBankingConfigError

DEFAULT_PORT = 8766


def serve(*, host: str = "127.0.0.1", port: int = DEFAULT_PORT, state_file: Path | None = None) -> int:
    """Serve until stopped; 2 with one line on stderr when the sandbox's variables are missing or wrong."""
    try:
        config = EnableBankingConfig.from_env()
    except EnableBankingConfigError as exc:
        print(f"finsync: {exc}", file=sys.stderr)
        return 2
    if state_file is not None:
        config.state_file = state_file
    if config.public_url is None:
        config.public_url = f"http://{host}:{port}"
    uvicorn.run(create_app(config), host=host, port=port, log_level="warning", access_log=False)
    return 0
