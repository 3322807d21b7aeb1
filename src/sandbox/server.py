"""Run the sandbox: `finsync sandbox --port 8765` (or `python -m src.sandbox.server`)."""

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from src.sandbox.app import create_app
from src.sandbox.config import SandboxConfig


def serve(*, host: str = "127.0.0.1", port: int = 8765, state_file: Path | None = None) -> None:
    config = SandboxConfig.from_env()
    if state_file is not None:
        config.state_file = state_file
    if config.public_url is None and os.environ.get("SANDBOX_PUBLIC_URL") is None:
        config.public_url = f"http://{host}:{port}"
    uvicorn.run(create_app(config), host=host, port=port, log_level="warning", access_log=False)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="finsync sandbox", description="The GoCardless sandbox server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("SANDBOX_PORT", "8765")))
    parser.add_argument("--state-file", type=Path, default=None, help="persist the sandbox's state here")
    args = parser.parse_args(argv)
    serve(host=args.host, port=args.port, state_file=args.state_file)


if __name__ == "__main__":
    main()
