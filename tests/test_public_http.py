"""Fetching a member's address from the public internet only: every address a name resolves to
is checked, the request goes to the checked address, and every redirect is checked again."""

from __future__ import annotations

import httpx
import pytest

from bot.public_http import MAX_REDIRECTS, Refused, is_public, stream_public

NAMES = {
    "calendar.example": ["93.184.215.14"],
    "other.example": ["2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
    "intranet.example": ["10.1.2.3"],
    "sneaky.example": ["93.184.215.14", "127.0.0.1"],
    "metadata.example": ["169.254.169.254"],
}


async def fake_dns(host: str, port: int) -> list[str]:
    if host in NAMES:
        return NAMES[host]
    if host.replace(".", "").isdigit() or ":" in host:
        return [host]  # an address stands for itself, as with getaddrinfo
    raise OSError("no such host")


class Web:
    """The internet, in memory: what each checked address answers; every request kept."""

    def __init__(self, answers: dict[str, httpx.Response]) -> None:
        self.answers = answers
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answers[f"{request.headers['host']}{request.url.path}"]


async def get(web: Web, url: str, allow_private: bool = False) -> bytes:
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(web)) as client,
        stream_public(client, url, allow_private=allow_private, resolver=fake_dns) as r,
    ):
        return await r.aread()


def moved(to: str) -> httpx.Response:
    return httpx.Response(302, headers={"location": to})


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1",
     "0.0.0.0", "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::",
     "224.0.0.1", "ff02::1"],
)  # fmt: skip
def test_internal_addresses_are_not_public(address: str) -> None:
    assert not is_public(address)


@pytest.mark.parametrize("address", ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111"])
def test_internet_addresses_are_public(address: str) -> None:
    assert is_public(address)


async def test_the_request_goes_to_the_checked_address_under_its_own_name() -> None:
    web = Web({"calendar.example/cal.ics": httpx.Response(200, content=b"BEGIN:VCALENDAR")})
    assert await get(web, "https://calendar.example/cal.ics") == b"BEGIN:VCALENDAR"
    [request] = web.requests
    assert request.url.host == "93.184.215.14"
    assert request.headers["host"] == "calendar.example"
    assert request.extensions["sni_hostname"] == "calendar.example"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://intranet.example/cal.ics", "10.1.2.3"),
        ("http://sneaky.example/cal.ics", "127.0.0.1"),  # one bad address is enough
        ("http://metadata.example/latest", "169.254.169.254"),
        ("http://127.0.0.1:8080/cal.ics", "loopback or link-local address (127.0.0.1)"),
        ("http://nowhere.example/cal.ics", "could not find"),
        ("ftp://calendar.example/cal.ics", "http://"),
    ],
)
async def test_internal_or_unknown_hosts_are_refused_before_any_request(
    url: str, says: str
) -> None:
    web = Web({})
    with pytest.raises(Refused) as refused:
        await get(web, url)
    assert says in refused.value.reason
    assert web.requests == []


@pytest.mark.parametrize(
    "to", ["http://intranet.example/cal.ics", "http://[::1]/cal.ics", "file:///etc/passwd"]
)
async def test_a_redirect_inward_is_refused_before_it_is_followed(to: str) -> None:
    web = Web({"calendar.example/cal.ics": moved(to)})
    with pytest.raises(Refused):
        await get(web, "http://calendar.example/cal.ics")
    assert [r.headers["host"] for r in web.requests] == ["calendar.example"]


async def test_public_redirects_are_followed_each_checked() -> None:
    web = Web(
        {
            "calendar.example/a": moved("/b"),
            "calendar.example/b": moved("https://other.example/c"),
            "other.example/c": httpx.Response(200, content=b"found"),
        }
    )
    assert await get(web, "http://calendar.example/a") == b"found"
    assert [str(r.url) for r in web.requests] == [
        "http://93.184.215.14/a",
        "http://93.184.215.14/b",
        "https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/c",
    ]


async def test_endless_redirects_stop() -> None:
    web = Web({"calendar.example/loop": moved("/loop")})
    with pytest.raises(Refused, match="redirects more than"):
        await get(web, "http://calendar.example/loop")
    assert len(web.requests) == MAX_REDIRECTS + 1


async def test_the_config_may_allow_the_bots_own_network() -> None:
    web = Web({"intranet.example/cal.ics": httpx.Response(200, content=b"ok")})
    assert await get(web, "http://intranet.example/cal.ics", allow_private=True) == b"ok"
