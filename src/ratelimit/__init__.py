"""Rate limiting shared by the domains: moving-window counters per client address, user or account
(`limiter.py`, where the choice of in-process storage is explained) and the FastAPI dependencies that give an
endpoint the client's address and the app's limiter (`dependencies.py`). Each domain names its own rules."""

from src.ratelimit.dependencies import ClientAddress, Limiter, client_address, client_key, get_rate_limiter
from src.ratelimit.exceptions import TooManyRequestsError
from src.ratelimit.limiter import RateLimiter, Rule, rule

__all__ = [
    "ClientAddress",
    "Limiter",
    "RateLimiter",
    "Rule",
    "TooManyRequestsError",
    "client_address",
    "client_key",
    "get_rate_limiter",
    "rule",
]
