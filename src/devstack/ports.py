"""Port checks for the dev stack: a port already taken is named in one clear line, not a bind traceback."""

import socket
from collections.abc import Mapping

from src.settings import ConfigurationError, Settings


def ensure_port_free(port: int, variable: str, host: str = "127.0.0.1") -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise ConfigurationError(
                f"port {port} on {host} is already in use ({variable}): stop what uses it or set {variable}"
            ) from None


def ensure_ports_free(ports: Mapping[str, int], host: str = "127.0.0.1") -> None:
    """Every port free and no two services given the same one, checked before anything starts."""
    owners: dict[int, str] = {}
    for variable, port in ports.items():
        if port in owners:
            raise ConfigurationError(f"{owners[port]} and {variable} are both {port}: give each service its own port")
        owners[port] = variable
    for variable, port in ports.items():
        ensure_port_free(port, variable, host)


def dev_ports(settings: Settings) -> dict[str, int]:
    """The loopback ports `make dev` will listen on, by the variable that sets each: a sandbox only where its
    provider has no credentials, the local mail server only where no SMTP server is set."""
    ports = {"API_PORT": settings.api_port, "DAGSTER_PORT": settings.dagster_port}
    if settings.uses_sandbox:
        ports["SANDBOX_PORT"] = settings.sandbox_port
    if settings.uses_enablebanking_sandbox:
        ports["ENABLEBANKING_SANDBOX_PORT"] = settings.enablebanking_sandbox_port
    if settings.smtp_host is None:
        ports["MAILBOX_PORT"] = settings.mailbox_port
    return ports
