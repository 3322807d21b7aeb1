"""A live API process (uvicorn on a free loopback port) for tests that go over real HTTP, as a browser would."""

import os
import subprocess
import sys
from pathlib import Path

from tests.harness.sandbox import PROJECT_ROOT, free_port, wait_until_answering


class LiveApi:
    def __init__(self, log_path: Path, *, env: dict[str, str]) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = log_path.open("w")
        environment = {**os.environ, "API_PORT": str(self.port), **env}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "src.api.app:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-access-log",
            ],
            cwd=PROJECT_ROOT,
            env=environment,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        wait_until_answering(self.process, f"{self.base_url}/health", log_path, "the API")

    def logs(self) -> str:
        self._log.flush()
        return self.log_path.read_text()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._log.close()
