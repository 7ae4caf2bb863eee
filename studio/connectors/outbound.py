"""Requests to addresses somebody else named (a sample's `audio_url`, a webhook's `callback_url`, a
feed): the one check of where they may go, used before each request and on every redirect."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

import httpx


class OutboundRefused(Exception):
    """A URL the studio will not fetch from or call back to; the text says why and what to change."""


class AddressPolicy:
    """Where the studio may send a request that somebody else named (a sample's `audio_url`, a
    `callback_url`, a feed): public addresses only, unless the user listed the host. Loopback,
    private, link-local (cloud metadata at 169.254.169.254), shared, multicast and reserved addresses
    are refused after DNS resolution, so a name or a numeric form (2130706433, [::ffff:127.0.0.1])
    pointing inside cannot slip through. `allowed` holds host names, IP addresses or networks
    (`192.168.1.20`, `10.0.0.0/8`, `nas.local`) of the user's own services."""

    def __init__(self, allowed: "list[str] | tuple[str, ...]" = ()) -> None:
        self.names: set[str] = set()
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for item in allowed:
            item = str(item).strip().lower().strip("[]")
            if not item:
                continue
            try:
                self.networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                self.names.add(item.rstrip("."))

    def refusal(self, url: str) -> str | None:
        """None when `url` may be fetched, else why not. Blocking (DNS): call it off the loop."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            return "only http:// and https:// URLs are fetched"
        host = (parts.hostname or "").rstrip(".")
        if not host:
            return "the URL has no host"
        if host in self.names:
            return None
        try:
            infos = socket.getaddrinfo(host, parts.port or None, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError):
            return f"the host name {host} does not resolve"
        addresses = {_plain(info[4][0]) for info in infos}
        inside = sorted(str(a) for a in addresses if not self._allowed_address(a))
        if not addresses or inside:
            return (f"{host} is on this machine or a private network ({', '.join(inside[:3])}); "
                    "if it is a service of yours, add it under 'Hosts on your network' in Settings "
                    "(allowed_private_hosts)")
        return None

    def _allowed_address(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        if any(address in network for network in self.networks if network.version == address.version):
            return True
        return address.is_global and not address.is_multicast

    def allows(self, url: str) -> bool:
        return self.refusal(url) is None

    async def check(self, url: str) -> None:
        """OutboundRefused unless `url` may be fetched (resolution runs off the loop)."""
        why = await asyncio.to_thread(self.refusal, url)
        if why is not None:
            raise OutboundRefused(why)

    async def on_request(self, request: httpx.Request) -> None:
        """An httpx request hook: runs before every request the client sends, redirects included."""
        await self.check(str(request.url))


def _plain(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    address = ipaddress.ip_address(text.split("%")[0])
    # ::ffff:127.0.0.1 is 127.0.0.1 on the wire: judge the IPv4 address it carries
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address
