"""With a state file (as `make dev` runs it), the sandbox's requisitions and accounts survive a restart."""

from pathlib import Path

import httpx

from tests.harness.sandbox import SandboxControl, SandboxServer


class TestPersistence:
    def test_a_linked_requisition_survives_a_restart(self, tmp_path: Path) -> None:
        state = tmp_path / "sandbox.json"
        server = SandboxServer(tmp_path / "log", state_file=state)
        try:
            control = SandboxControl(server.base_url)
            linked = control.link(customer="chloe")
            control.close()
        finally:
            server.stop()
        assert state.exists()

        again = SandboxServer(tmp_path / "log", state_file=state, port=server.port)
        try:
            control = SandboxControl(again.base_url)
            token = control.token()
            response = httpx.get(
                f"{again.base_url}/api/v2/requisitions/{linked['id']}/",
                headers={"Authorization": f"Bearer {token}"},
            )
            assert response.status_code == 200
            assert response.json()["accounts"] == linked["accounts"]
            account = httpx.get(
                f"{again.base_url}/api/v2/accounts/{linked['accounts'][0]}/",
                headers={"Authorization": f"Bearer {token}"},
            )
            assert account.status_code == 200
            control.close()
        finally:
            again.stop()
