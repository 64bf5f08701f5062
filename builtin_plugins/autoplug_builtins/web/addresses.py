"""Which addresses ``browse_url`` may connect to.

A host is resolved (every address, through the running event loop's
``getaddrinfo``) and refused when any of its addresses is refused, so a name
that resolves to one public and one private address cannot slip through. The
fetcher then connects to one of exactly these checked addresses, so a second
DNS answer (DNS rebinding) cannot change where the request goes.

Always refused: cloud metadata endpoints, the unspecified address and multicast.
Refused unless ``[web] allow_private`` allows it: everything that is not a public
unicast address (loopback, private, link-local, shared, reserved, documentation).
``allow_private = true`` allows all of them; a list of networks
(``["127.0.0.0/8", "192.168.1.0/24"]``) allows those only.
IPv6 forms that embed an IPv4 address (mapped, 6to4, Teredo, NAT64) are judged
by the embedded address as well.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

from autoplug import AutoplugError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Allowance = bool | tuple[IPNetwork, ...]

METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean instance metadata
        "169.254.170.2",  # AWS ECS task metadata
        "fd00:ec2::254",  # AWS instance metadata over IPv6
        "100.100.100.200",  # Alibaba Cloud metadata
        "168.63.129.16",  # Azure wire server: a public address, so named explicitly
    )
)

_NAT64 = ipaddress.ip_network("64:ff9b::/96")

# Reasons that even ``allow_private`` does not lift: no page worth browsing lives there.
ALWAYS_REFUSED = frozenset(
    {"a cloud metadata address", "an unspecified address", "a multicast address"}
)
ALLOW_HINT = "[web] allow_private in the config file can allow it"


class WebError(AutoplugError):
    """Raised by the web tools for a fault of one call; the message names the URL and the fault."""


class AddressRefused(WebError):
    """Raised when a URL's host resolves to an address ``browse_url`` must not reach."""


@dataclass(frozen=True)
class Endpoint:
    """One checked address of a host, ready to connect to."""

    address: str
    family: int


def embedded_ipv4(ip: IPAddress) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo, NAT64)."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return []
    found: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    if ip in _NAT64:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def refusal(ip: IPAddress, allow_private: Allowance) -> str | None:
    """Why ``ip`` must not be reached (``"a loopback address"``...), or None when it may.

    ``allow_private`` is True (every non-public address allowed), False (none), or
    the networks whose addresses are allowed.
    """
    candidates: list[IPAddress] = [*embedded_ipv4(ip), ip]
    for candidate in candidates:
        if candidate in METADATA_ADDRESSES:
            return "a cloud metadata address"
        if candidate.is_unspecified:
            return "an unspecified address"
        if candidate.is_multicast:
            return "a multicast address"
    if allow_private is True:
        return None
    if allow_private and any(
        candidate in network for candidate in candidates for network in allow_private
    ):
        return None
    for candidate in candidates:
        if candidate.is_loopback:
            return "a loopback address"
        if candidate.is_link_local:
            return "a link-local address"
        if candidate.is_private:
            return "a private address"
        if candidate.is_reserved:
            return "a reserved address"
        if not candidate.is_global:
            return "a non-public address"
    return None


async def resolve_checked(
    url: str, host: str, port: int, *, allow_private: Allowance, timeout_s: float
) -> list[Endpoint]:
    """Every address of ``host``, all checked; raise AddressRefused or WebError otherwise.

    ``url`` only names the request in messages. The result keeps the resolver's
    order, without duplicates.
    """
    import asyncio

    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout_s
        )
    except TimeoutError:
        raise WebError(f"{url}: resolving host {host!r} timed out after {timeout_s:g} s") from None
    except OSError as exc:
        reason: str | None = exc.strerror or str(exc)
        raise WebError(f"{url}: cannot resolve host {host!r}: {reason}") from None
    endpoints: list[Endpoint] = []
    for family, _type, _proto, _name, sockaddr in infos:
        # Drop an IPv6 zone id ("fe80::1%eth0") before parsing; the family is kept.
        address = str(sockaddr[0]).split("%", 1)[0]
        ip = ipaddress.ip_address(address)
        reason = refusal(ip, allow_private)
        if reason is not None:
            hint = "" if reason in ALWAYS_REFUSED else f" ({ALLOW_HINT})"
            raise AddressRefused(
                f"refused {url}: host {host!r} resolves to {address}, {reason}{hint}"
            )
        endpoint = Endpoint(address=address, family=family)
        if endpoint not in endpoints:
            endpoints.append(endpoint)
    if not endpoints:
        raise WebError(f"{url}: host {host!r} has no address")
    return endpoints
