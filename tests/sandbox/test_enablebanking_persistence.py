"""With a state file (`make dev`), the Enable Banking sandbox keeps its sessions, the application's status and its
clock across a restart: a connection made before still reads its accounts after."""

from pathlib import Path

from tests.harness.enablebanking import EnableBankingSandboxControl, EnableBankingSandboxServer


def test_sessions_survive_a_restart(enablebanking_sandbox_server: EnableBankingSandboxServer, tmp_path: Path) -> None:
    keys, state_file = enablebanking_sandbox_server.keys, tmp_path / "state.json"
    server = EnableBankingSandboxServer(tmp_path / "first.log", keys, state_file=state_file)
    try:
        control = EnableBankingSandboxControl(server.base_url, keys)
        linked = control.link(aspsp={"name": "Thistle Bank", "country": "GB"}, customer="alice")
        control.advance_clock(days=2)
        with control.api() as api:
            before = api.get(f"/accounts/{linked['accounts'][1]}/details").json()
        control.close()
    finally:
        server.stop()
    server = EnableBankingSandboxServer(tmp_path / "second.log", keys, state_file=state_file)
    try:
        control = EnableBankingSandboxControl(server.base_url, keys)
        assert control.clock()["offset_seconds"] == 2 * 86_400
        with control.api() as api:
            session = api.get(f"/sessions/{linked['session_id']}").json()
            assert session["status"] == "AUTHORIZED"
            assert session["accounts"] == linked["accounts"]
            assert api.get(f"/accounts/{linked['accounts'][1]}/details").json() == before
        control.close()
    finally:
        server.stop()
