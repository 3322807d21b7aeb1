"""The HTTP side of rate limiting: who a request comes from, and the app's one `RateLimiter`.

The client address is the peer the ASGI server reports for the connection. finsync reads no forwarding header
itself, so a client cannot choose its own address with `X-Forwarded-For`. uvicorn replaces the peer with the
address a proxy forwarded only when the peer is one of `FORWARDED_ALLOW_IPS` (uvicorn's own setting, default
127.0.0.1; see README, Deployment).
"""

import ipaddress
import threading
from typing import Annotated

from fastapi import Depends, Request

from src.ratelimit.limiter import RateLimiter

# One IPv6 subscriber usually holds a whole /64: counting single addresses there would give one client 2**64 keys.
IPV6_PREFIX_LENGTH = 64

_creating = threading.Lock()


def client_key(host: str | None) -> str:
    """The key a peer's requests are counted under: an IPv4 address, an IPv6 /64 network, or the peer's name
    as the server reports it when it is not an IP address (a Unix socket, the test client)."""
    if not host:
        return "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, IPV6_PREFIX_LENGTH), strict=False))
    return str(address)


def client_address(request: Request) -> str:
    return client_key(request.client.host if request.client else None)


def get_rate_limiter(request: Request) -> RateLimiter:
    """The application's limiter, made on first use: every app (one per process; one per test) counts apart."""
    state = request.app.state
    limiter: RateLimiter | None = getattr(state, "rate_limiter", None)
    if limiter is None:
        with _creating:
            limiter = getattr(state, "rate_limiter", None)
            if limiter is None:
                limiter = RateLimiter()
                state.rate_limiter = limiter
    return limiter


ClientAddress = Annotated[str, Depends(client_address)]
Limiter = Annotated[RateLimiter, Depends(get_rate_limiter)]
