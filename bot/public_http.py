"""Fetching an address a member gave, from the public internet only (unless the config says
otherwise).

`event import <url>` must not make the bot a way into its own network: loopback, private
ranges, link-local addresses (a cloud's metadata service at 169.254.169.254). The host is
resolved and every address it has is checked; the request then goes to a checked address (the
name stays in the Host header and TLS's SNI), so a second DNS answer cannot swap in another
(rebinding). Each redirect is checked the same way before it is followed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx

MAX_REDIRECTS = 5

Resolver = Callable[[str, int], Awaitable[list[str]]]
"""A host name and port to the addresses to try, in order."""


class Refused(Exception):
    """The address may not be fetched; `reason` says why, for the member who gave it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_public(address: str) -> bool:
    """Whether an address is on the public internet (an IPv4 address written as IPv6,
    `::ffff:127.0.0.1`, is judged as the IPv4 address it is)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def _checked(url: httpx.URL, allow_private: bool, resolver: Resolver) -> list[str]:
    if url.scheme not in ("http", "https"):
        raise Refused("A calendar address starts with http:// or https://.")
    host = url.host
    try:
        addresses = await resolver(host, url.port or (443 if url.scheme == "https" else 80))
    except (OSError, UnicodeError):
        addresses = []
    if not addresses:
        raise Refused(f"I could not find the host {host[:80]}.")
    if not allow_private:
        inside = [a for a in addresses if not is_public(a)]
        if inside:
            raise Refused(
                f"{host[:80]} is a private, loopback or link-local address ({inside[0]}); "
                "I only fetch from the public internet."
            )
    return addresses


@asynccontextmanager
async def stream_public(
    client: httpx.AsyncClient,
    url: str,
    *,
    allow_private: bool = False,
    resolver: Resolver = resolve,
) -> AsyncIterator[httpx.Response]:
    """GET `url` (following up to `MAX_REDIRECTS` redirects, each checked) and yield the
    response, its body not yet read. `client` must not follow redirects itself."""
    target = httpx.URL(url)
    for _ in range(MAX_REDIRECTS + 1):
        addresses = await _checked(target, allow_private, resolver)
        headers = {"Host": target.netloc.decode("ascii")}
        for i, address in enumerate(addresses):
            request = client.build_request(
                "GET",
                target.copy_with(host=address),
                headers=headers,
                extensions={"sni_hostname": target.host},
            )
            try:
                response = await client.send(request, stream=True)
                break
            except httpx.ConnectError:
                if i == len(addresses) - 1:
                    raise
        try:
            if not response.is_redirect:
                yield response
                return
            target = target.join(response.headers["location"])
        finally:
            await response.aclose()
    raise Refused(f"That address redirects more than {MAX_REDIRECTS} times.")
