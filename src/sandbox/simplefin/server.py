"""Run the SimpleFIN sandbox: `finsync sandbox --provider simplefin --port 8767`."""

from pathlib import Path

import uvicorn

from src.sandbox.simplefin.app import create_app
from src.sandbox.simplefin.config import SimpleFinConfig

DEFAULT_PORT = 8767


def serve(*, host: str = "127.0.0.1", port: int = DEFAULT_PORT, state_file: Path | None = None) -> int:
    """Serve until stopped."""
    config = SimpleFinConfig.from_env()
    if state_file is not None:
        config.state_file = state_file
    if config.public_url is None:
        config.public_url = f"http://{host}:{port}"
    uvicorn.run(create_app(config), host=host, port=port, log_level="warning", access_log=False)
    return 0
