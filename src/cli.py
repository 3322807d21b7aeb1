"""`finsync dev | migrate | sandbox | secrets`: the entry points that may start the embedded PostgreSQL.

Configuration problems (a malformed or unreachable DATABASE_URL, a port in use) end the command with one line on
stderr and exit code 2, not a traceback.
"""

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="finsync", description="finsync: bank data kept in sync.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "dev", help="start the local stack (database, migrations, sandbox, Dagster, API and page) until Ctrl-C"
    )
    commands.add_parser("migrate", help="upgrade the database to the newest schema")
    sandbox = commands.add_parser("sandbox", help="run a provider's sandbox server (GoCardless unless told)")
    sandbox.add_argument("--provider", choices=("gocardless", "enablebanking", "simplefin"), default="gocardless")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument(
        "--port",
        type=int,
        default=None,
        help=(
            "default: SANDBOX_PORT or 8765 (enablebanking: ENABLEBANKING_SANDBOX_PORT or 8766; "
            "simplefin: SIMPLEFIN_SANDBOX_PORT or 8767)"
        ),
    )
    sandbox.add_argument("--state-file", type=Path, default=None, help="persist the sandbox's state in this file")
    secrets = commands.add_parser("secrets", help="keys for the provider secrets stored in the database")
    actions = secrets.add_subparsers(dest="action", required=True)
    actions.add_parser("new-key", help="print a new key for FINSYNC_SECRET_KEY")
    actions.add_parser(
        "reencrypt",
        help="re-encrypt every stored provider secret with the first key of FINSYNC_SECRET_KEY (after a rotation)",
    )
    return parser


def _migrate() -> int:
    from src.db.embedded import describe_url, ensure_database_url
    from src.db.migrate import upgrade_to_head
    from src.settings import settings

    url = ensure_database_url(settings)
    upgrade_to_head(url)
    print(f"finsync: database {describe_url(url)} is at the newest schema")
    return 0


def _dev() -> int:
    from src.devstack.ports import dev_ports, ensure_ports_free
    from src.settings import settings

    # Before the stack's own imports (FastAPI, SQLAlchemy, the migrations: seconds), so that a port in use is said at
    # once. The stack checks again as it starts.
    ensure_ports_free(dev_ports(settings))
    from src.devstack.stack import run_dev

    return run_dev(settings)


def _reencrypt() -> int:
    """Rotation's last step: every stored secret under the first key, so that the older keys can be dropped."""
    from src.db.embedded import describe_url, ensure_database_url
    from src.db.encryption import secret_box
    from src.db.engine import build_engine
    from src.integrations.gocardless import reseal_token_pairs
    from src.settings import settings

    url = ensure_database_url(settings)
    engine = build_engine(url, pool_size=1, max_overflow=0)
    try:
        report = reseal_token_pairs(engine, secret_box(settings))
    finally:
        engine.dispose()
    print(
        f"finsync: GoCardless token pairs in {describe_url(url)}: {report.resealed} re-encrypted with the first key, "
        f"{report.current} already were"
        + (f", {report.unreadable} no key opens (replaced at their next use)" if report.unreadable else "")
    )
    return 0


def _enablebanking_sandbox(host: str, port: int | None, state_file: Path | None) -> int:
    # Its own variables (SANDBOX_ENABLEBANKING_*), read by the sandbox; a missing one is one line and exit code 2.
    # It needs nothing from Settings but the port's default.
    from src.sandbox.enablebanking.server import serve

    if port is None:
        from src.settings import settings

        port = settings.enablebanking_sandbox_port
    return serve(host=host, port=port, state_file=state_file)


def _simplefin_sandbox(host: str, port: int | None, state_file: Path | None) -> int:
    # Its own variables (SANDBOX_SIMPLEFIN_*), read by the sandbox; it needs nothing from Settings but the port's
    # default.
    from src.sandbox.simplefin.server import serve

    if port is None:
        from src.settings import settings

        port = settings.simplefin_sandbox_port
    return serve(host=host, port=port, state_file=state_file)


def _sandbox(host: str, port: int | None, state_file: Path | None) -> int:
    # The sandbox reads its own variables; it needs nothing from Settings but the port's default.
    from src.sandbox.server import serve

    if port is None:
        from src.settings import settings

        port = settings.sandbox_port
    serve(host=host, port=port, state_file=state_file)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "secrets" and args.action == "new-key":
        # Before anything imports Settings (src.db does): a production host without a key must be able to make one.
        from cryptography.fernet import Fernet

        print(Fernet.generate_key().decode())
        return 0
    try:
        from src.settings import ConfigurationError
    except Exception as exc:  # the settings module validates at import
        print(f"finsync: {exc}", file=sys.stderr)
        return 2
    try:
        if args.command == "migrate":
            return _migrate()
        if args.command == "sandbox" and args.provider == "enablebanking":
            return _enablebanking_sandbox(args.host, args.port, args.state_file)
        if args.command == "sandbox" and args.provider == "simplefin":
            return _simplefin_sandbox(args.host, args.port, args.state_file)
        if args.command == "sandbox":
            return _sandbox(args.host, args.port, args.state_file)
        if args.command == "secrets":
            return _reencrypt()
        return _dev()
    except ConfigurationError as exc:
        print(f"finsync: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        from src.db.engine import DatabaseNotConfiguredError

        if isinstance(exc, DatabaseNotConfiguredError):
            print(f"finsync: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
