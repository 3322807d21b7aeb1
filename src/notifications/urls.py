"""Which webhook URLs finsync will POST to.

A webhook makes finsync's servers send requests wherever a user points them, so in production a URL must not reach
inside the deployment (server-side request forgery): only https, and a host whose every address is public. Private
(10/8, 172.16/12, 192.168/16, fc00::/7), loopback, link-local (169.254/16: cloud metadata), shared, reserved,
multicast and unspecified addresses are refused. The check runs when the endpoint is registered and again before
every delivery, since a name can be re-pointed at a private address after it was accepted (DNS rebinding); and
the delivery connects to the very address it checked (`delivery_target`: the URL's host replaced by that address,
the name kept in `Host` and in TLS's server name, so the certificate is still checked against the name), leaving
no second lookup to re-point. Development allows http and any address, so a receiver on the developer's machine
(or the tests') can be used.
"""

import ipaddress
import socket
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 2048


class UnsafeWebhookUrlError(Exception):
    """A URL finsync will not deliver to; the message says why, in a sentence a person can act on."""


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _resolve(host: str, port: int) -> list[Address]:
    """Every address `host` resolves to (the system resolver; a seam the tests can point elsewhere)."""
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def _addresses(host: str, port: int) -> list[Address]:
    literal = _literal(host)
    if literal is not None:
        return [literal]
    try:
        found = _resolve(host, port)
    except (OSError, UnicodeError):
        raise UnsafeWebhookUrlError(f"The host {host} does not resolve to an address.") from None
    if not found:
        raise UnsafeWebhookUrlError(f"The host {host} does not resolve to an address.")
    return found


def _public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def validate_webhook_url(url: str, *, production: bool) -> str:
    """`url`, checked for delivery (stripped of surrounding blanks); raises `UnsafeWebhookUrlError` saying why not.

    Production: https only, and every address the host resolves to must be public. Development: http or https.
    Never a user name or password in the URL (it would be shown in every listing)."""
    return _check(url, production=production)[0]


@dataclass(frozen=True)
class DeliveryTarget:
    """What a delivery requests: `url` (in production with the checked address in place of the name), and the
    `Host` header and TLS server name that keep the name where it matters."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, Any] = field(default_factory=dict)


def delivery_target(url: str, *, production: bool) -> DeliveryTarget:
    """`url` checked again, as a delivery requests it: in production pinned to an address just checked."""
    checked, parts, addresses = _check(url, production=production)
    host = parts.hostname
    if not production or not addresses or host is None or _literal(host) is not None:
        return DeliveryTarget(checked)
    address = addresses[0]
    netloc = f"[{address}]" if isinstance(address, ipaddress.IPv6Address) else str(address)
    if parts.port is not None:
        netloc += f":{parts.port}"
    pinned = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    extensions = {"sni_hostname": host} if parts.scheme.lower() == "https" else {}
    return DeliveryTarget(pinned, {"Host": parts.netloc}, extensions)


def _check(url: str, *, production: bool) -> tuple[str, SplitResult, list[Address]]:
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeWebhookUrlError(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    if any(character.isspace() or not character.isprintable() for character in url):
        raise UnsafeWebhookUrlError("The URL must not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeWebhookUrlError("This is not a URL finsync can read.") from None
    allowed = ("https",) if production else ("http", "https")
    if parts.scheme.lower() not in allowed:
        raise UnsafeWebhookUrlError(
            "Webhook URLs must start with https://."
            if production
            else "Webhook URLs must start with http:// or https://."
        )
    host = parts.hostname
    if not host:
        raise UnsafeWebhookUrlError("The URL names no host.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeWebhookUrlError("The URL must not carry a user name or password.")
    addresses: list[Address] = []
    if production:
        default_port = 443 if parts.scheme.lower() == "https" else 80
        addresses = _addresses(host, port or default_port)
        for address in addresses:
            if not _public(address):
                raise UnsafeWebhookUrlError(
                    f"The host {host} resolves to a private or local address ({address}); webhooks go to public "
                    "addresses only."
                )
    return url, parts, addresses
