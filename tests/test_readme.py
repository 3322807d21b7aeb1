"""README's quick start is the newcomer's first contact: it must name what `make dev` really offers."""

import re

from src.auth.demo import DEMO_EMAIL, DEMO_PASSWORD
from src.settings import Settings
from tests.harness.sandbox import PROJECT_ROOT


def _quick_start() -> str:
    readme = (PROJECT_ROOT / "README.md").read_text()
    return readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]


def test_quick_start_is_clone_make_dev_open_the_page_and_make_test() -> None:
    section = _quick_start()
    commands = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    lines = [line.split("#")[0].strip() for block in commands for line in block.splitlines() if line.strip()]
    assert lines[0].startswith("git clone ")
    assert lines[1:] == ["make dev", "make test"]
    default_port = Settings.model_fields["api_port"].default
    assert f"http://127.0.0.1:{default_port}" in section


def test_quick_start_gives_the_demo_account_that_make_dev_creates() -> None:
    section = _quick_start()
    assert DEMO_EMAIL in section
    assert DEMO_PASSWORD in section
