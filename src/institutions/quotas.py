"""How often one user may list institutions. A country that was never fetched (every invalid code is one) or is
stale is asked of GoCardless, whose institution budget (300 calls a minute) the whole of finsync shares; one user
gets a small part of it. Counted in each API process (see `src.ratelimit.limiter`)."""

from src.auth.dependencies import CurrentUser
from src.ratelimit import ClientAddress, Limiter, rule

INSTITUTION_LISTINGS_PER_USER = rule(
    "institution listings per user",
    per="user_id",
    limit="30/minute",
    refusal="You have listed banks many times in a short while.",
)


def allow_institution_listing(user: CurrentUser, limiter: Limiter) -> None:
    limiter.hit(INSTITUTION_LISTINGS_PER_USER, str(user.id))


# Logos are read without signing in (an <img> sends no bearer token), so they are counted per client address. A
# page shows a country's banks with their logos, loaded as they scroll into view, and the browser keeps them a week.
LOGO_READS_PER_ADDRESS = rule(
    "institution logos per address",
    per="client_address",
    limit="600/minute",
    refusal="Bank logos were asked for many times in a short while.",
)


def allow_logo_read(address: ClientAddress, limiter: Limiter) -> None:
    limiter.hit(LOGO_READS_PER_ADDRESS, address)
