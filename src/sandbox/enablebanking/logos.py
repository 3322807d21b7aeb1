"""Bank logos at the URL each ASPSP's `logo` names (`{public url}/brands/{country}/{name}/`, the shape of Enable
Banking's own `https://enablebanking.com/brands/FI/Nordea/`).

Enable Banking's brand images are served without the application's JWT (a browser shows them), so these are too.
Each is a small SVG drawn in code: the bank's initials on a colour taken from a hash of its name and country (the
same picture on every run, different for each bank). A client meets an SVG here and a PNG at the GoCardless
sandbox, the two kinds a bank's logo comes in. Each request is counted in `/_sandbox/counters` as `GET /brands`.
"""

import hashlib
from functools import cache
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from src.sandbox.enablebanking import errors
from src.sandbox.enablebanking.catalogue import Aspsp
from src.sandbox.enablebanking.state import EnableBankingState

SIZE = 64


def logo_url(public_url: str, aspsp: Aspsp) -> str:
    return f"{public_url}/brands/{aspsp.country}/{quote(aspsp.name)}/"


@cache
def logo_svg(name: str, country: str) -> str:
    """The bank's initials (up to two, from its words' first letters) in white on a colour of its own."""
    digest = hashlib.sha256(f"{country}/{name}".encode()).digest()
    red, green, blue = (40 + byte % 150 for byte in digest[:3])
    initials = "".join(word[0] for word in name.split() if word[:1].isalnum())[:2].upper() or "?"
    escaped = initials.replace("&", "&amp;").replace("<", "&lt;")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{SIZE}" height="{SIZE}" viewBox="0 0 {SIZE} {SIZE}">'
        f'<rect width="{SIZE}" height="{SIZE}" rx="12" fill="#{red:02x}{green:02x}{blue:02x}"/>'
        f'<text x="50%" y="50%" dy=".35em" text-anchor="middle" font-family="sans-serif" font-size="26" '
        f'font-weight="bold" fill="#fff">{escaped}</text></svg>'
    )


async def logo(request: Request) -> Response:
    state: EnableBankingState = request.app.state.enablebanking
    state.endpoint_calls["GET /brands"] = state.endpoint_calls.get("GET /brands", 0) + 1
    country, name = request.path_params["country"], request.path_params["name"]
    if state.catalogue.find(name, country) is None:
        return errors.plain(404, "Not Found")
    return Response(
        logo_svg(name, country),
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400"},
    )


ROUTES = [Route("/brands/{country}/{name}/", logo, methods=["GET"])]
