"""Port checks for the dev stack: a port already taken is named in one clear line, not a bind traceback."""

import socket

from src.settings import ConfigurationError


def ensure_port_free(port: int, variable: str, host: str = "127.0.0.1") -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise ConfigurationError(
                f"port {port} on {host} is already in use ({variable}): stop what uses it or set {variable}"
            ) from None
