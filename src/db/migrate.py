"""Run Alembic programmatically: `finsync migrate`, `finsync dev` and the test harness all go through here."""

from pathlib import Path

from alembic import command
from alembic.config import Config

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def alembic_config(url: str | None = None) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    if url is not None:
        config.attributes["url"] = url
    return config


def upgrade_to_head(url: str | None = None) -> None:
    """Bring the database at `url` (default: Settings' DATABASE_URL) to the newest revision."""
    command.upgrade(alembic_config(url), "head")
