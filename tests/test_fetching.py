"""Fetching a source page safely (bot/curation/fetching.py), against the pages of tests/pages.py
on loopback. No test reaches any other address: the private ones must be refused before a
connection is made, which is what those tests prove."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.curation.fetching import (
    FetchError,
    FetchLimits,
    FetchProblem,
    Page,
    fetch_page,
    fetch_session,
    forbidden,
    normalise,
)
from tests.conftest import closed_port
from tests.pages import ENGLISH, PIECE, STREAMED_BYTES, MapResolver, PageServer

# Test host names and the addresses they stand for; only the loopback ones are ever reached.
NAMES = {
    "news.test": ["127.0.0.1"],
    "mixed.test": ["127.0.0.1", "10.0.0.1"],
    "metadata.test": ["169.254.169.254"],
}

DEFAULT = FetchLimits()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A session that may reach the loopback server, and knows the test host names."""
    async with fetch_session(allow_loopback=True, resolver=MapResolver(NAMES)) as session:
        yield session


async def fetched(url: str, session: aiohttp.ClientSession) -> Page:
    return await fetch_page(url, session=session, allow_loopback=True)


async def refusal(
    url: str, session: aiohttp.ClientSession, limits: FetchLimits = DEFAULT
) -> FetchError:
    """The FetchError that fetching `url` raises; the test fails if a page comes back."""
    with pytest.raises(FetchError) as caught:
        await fetch_page(url, session=session, allow_loopback=True, limits=limits)
    return caught.value


async def test_an_html_page_is_fetched_with_its_type_and_charset(
    pages: PageServer, session: aiohttp.ClientSession
) -> None:
    page = await fetched(pages.url("/english"), session)
    assert page.status == 200
    assert page.content_type == "text/html"
    assert page.charset == "utf-8"
    assert page.body.decode() == ENGLISH
    assert page.url == page.requested == pages.url("/english")


async def test_a_page_server_declared_as_xhtml_is_fetched(
    pages: PageServer, session: aiohttp.ClientSession
) -> None:
    page = await fetched(pages.url("/xhtml"), session)
    assert page.content_type == "application/xhtml+xml"
    assert page.body.decode() == ENGLISH


async def test_a_host_name_is_connected_to_at_the_address_it_resolves_to(
    pages: PageServer, session: aiohttp.ClientSession
) -> None:
    page = await fetched(pages.url("/english", host="news.test"), session)
    assert page.url == pages.url("/english", host="news.test")
    ((_, headers),) = pages.served.requests
    assert headers["Host"] == f"news.test:{pages.port}"


async def test_three_redirects_are_followed_to_the_page(
    pages: PageServer, session: aiohttp.ClientSession
) -> None:
    page = await fetched(pages.url("/hop/3"), session)
    assert page.url == pages.url("/hop/0")
    assert page.requested == pages.url("/hop/3")
    assert page.body.decode() == ENGLISH
    assert pages.served.paths == ["/hop/3", "/hop/2", "/hop/1", "/hop/0"]


async def test_five_redirects_are_the_most_followed(
    pages: PageServer, session: aiohttp.ClientSession
) -> None:
    page = await fetched(pages.url("/hop/5"), session)
    assert page.url == pages.url("/hop/0")


async def test_a_sixth_redirect_is_refused_and_not_followed(
    pages: PageServer, session: aiohttp.ClientSession
) -> None:
    error = await refusal(pages.url("/hop/6"), session)
    assert error.reason is FetchProblem.TOO_MANY_REDIRECTS
    assert "/hop/0" not in pages.served.paths
    assert len(pages.served.paths) == 6


async def test_a_streamed_page_over_two_megabytes_is_refused_and_not_read_to_its_end(
    pages: PageServer, session: aiohttp.ClientSession
) -> None:
    error = await refusal(pages.url("/big"), session)
    assert error.reason is FetchProblem.TOO_BIG
    await pages.served.stream_done.wait()
    # The client hung up: the server could not send all of its 32 MB.
    assert pages.served.stream_cut_off
    assert pages.served.streamed < STREAMED_BYTES


async def test_a_page_just_under_the_cap_is_read_whole(
    pages: PageServer, session: aiohttp.ClientSession
) -> None:
    limits = FetchLimits(max_bytes=len(ENGLISH.encode()))
    page = await fetch_page(
        pages.url("/english"), session=session, allow_loopback=True, limits=limits
    )
    assert page.body.decode() == ENGLISH
    smaller = FetchLimits(max_bytes=len(ENGLISH.encode()) - 1)
    assert (await refusal(pages.url("/english"), session, smaller)).reason is FetchProblem.TOO_BIG


async def test_a_pdf_is_refused_as_not_html(
    pages: PageServer, session: aiohttp.ClientSession
) -> None:
    error = await refusal(pages.url("/paper.pdf"), session)
    assert error.reason is FetchProblem.NOT_HTML
    assert "application/pdf" in error.detail


async def test_an_error_status_is_refused_with_its_code(
    pages: PageServer, session: aiohttp.ClientSession
) -> None:
    error = await refusal(pages.url("/missing"), session)
    assert error.reason is FetchProblem.HTTP_STATUS
    assert "404" in error.detail


async def test_a_page_that_never_answers_times_out(
    pages: PageServer, session: aiohttp.ClientSession
) -> None:
    error = await refusal(pages.url("/never"), session, FetchLimits(timeout=0.2))
    assert error.reason is FetchProblem.TIMEOUT
    assert pages.served.paths == ["/never"]


async def test_a_closed_port_is_unreachable(session: aiohttp.ClientSession) -> None:
    error = await refusal(f"http://127.0.0.1:{closed_port()}/", session)
    assert error.reason is FetchProblem.UNREACHABLE


@pytest.mark.parametrize(
    "target",
    [
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00::1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://0.0.0.0/",
        "http://metadata.test/",
    ],
)
async def test_a_redirect_to_a_private_address_is_refused_before_connecting(
    pages: PageServer, session: aiohttp.ClientSession, target: str
) -> None:
    error = await refusal(pages.url(f"/redirect?to={target}"), session)
    # A connection attempt would have ended as UNREACHABLE or TIMEOUT instead.
    assert error.reason is FetchProblem.PRIVATE_ADDRESS
    assert len(pages.served.paths) == 1


async def test_a_redirect_to_ftp_is_refused(
    pages: PageServer, session: aiohttp.ClientSession
) -> None:
    error = await refusal(pages.url("/redirect?to=ftp://files.test/paper.pdf"), session)
    assert error.reason is FetchProblem.NOT_HTTP


async def test_a_host_with_any_private_address_is_refused_whole(
    pages: PageServer, session: aiohttp.ClientSession
) -> None:
    error = await refusal(pages.url("/english", host="mixed.test"), session)
    assert error.reason is FetchProblem.PRIVATE_ADDRESS
    assert "10.0.0.1" in error.detail
    assert pages.served.requests == []


@pytest.mark.parametrize(
    "url",
    ["ftp://files.test/paper.pdf", "file:///etc/passwd", "javascript:alert(1)", "news.test/page"],
)
async def test_anything_but_http_and_https_is_refused(
    url: str, session: aiohttp.ClientSession
) -> None:
    assert (await refusal(url, session)).reason is FetchProblem.NOT_HTTP


@pytest.mark.parametrize(
    "url", ["http:///path", "http://exa mple.test/", "http://news.test:99999/"]
)
async def test_a_url_without_a_usable_host_is_refused(
    url: str, session: aiohttp.ClientSession
) -> None:
    assert (await refusal(url, session)).reason is FetchProblem.BAD_URL


@pytest.mark.parametrize("path", ["/english", "/hop/3", "/big", "/never", "/paper.pdf"])
async def test_without_allow_loopback_every_fetch_of_the_loopback_server_is_refused(
    pages: PageServer, path: str
) -> None:
    with pytest.raises(FetchError) as caught:
        await fetch_page(pages.url(path))
    assert caught.value.reason is FetchProblem.PRIVATE_ADDRESS
    assert pages.served.requests == []


async def test_without_allow_loopback_a_name_resolving_to_loopback_is_refused(
    pages: PageServer,
) -> None:
    resolver = MapResolver(NAMES)
    async with fetch_session(resolver=resolver) as session:
        with pytest.raises(FetchError) as caught:
            await fetch_page(pages.url("/english", host="news.test"), session=session)
    assert caught.value.reason is FetchProblem.PRIVATE_ADDRESS
    assert "127.0.0.1" in caught.value.detail
    assert resolver.lookups == ["news.test"]
    assert pages.served.requests == []


async def test_without_allow_loopback_localhost_is_refused(pages: PageServer) -> None:
    # The system's own resolver: localhost is 127.0.0.1 (and ::1) from /etc/hosts.
    with pytest.raises(FetchError) as caught:
        await fetch_page(pages.url("/english", host="localhost"))
    assert caught.value.reason is FetchProblem.PRIVATE_ADDRESS
    assert pages.served.requests == []


async def test_credentials_in_the_url_are_neither_sent_nor_shown(
    pages: PageServer, session: aiohttp.ClientSession
) -> None:
    secret = f"http://curator:hunter2@127.0.0.1:{pages.port}"
    page = await fetched(f"{secret}/english", session)
    assert page.requested == page.url == pages.url("/english")
    ((_, headers),) = pages.served.requests
    assert "Authorization" not in headers
    error = await refusal(f"{secret}/paper.pdf", session)
    assert "hunter2" not in str(error)
    assert "curator" not in str(error)


async def test_a_session_not_made_by_fetch_session_is_not_used(pages: PageServer) -> None:
    async with aiohttp.ClientSession() as plain:
        with pytest.raises(ValueError, match="fetch_session"):
            await fetch_page(pages.url("/english"), session=plain, allow_loopback=True)
    async with fetch_session() as strict:
        with pytest.raises(ValueError, match="allow_loopback"):
            await fetch_page(pages.url("/english"), session=strict, allow_loopback=True)
    assert pages.served.requests == []


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "100.64.0.1",
        "169.254.169.254",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "127.0.0.1",
        "::",
        "::1",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "fec0::1",
        "ff02::1",
        "ff0e::1",
        "::ffff:10.0.0.1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "2002:a00:1::",
        "64:ff9b::a00:1",
        "2001:db8::1",
    ],
)
def test_non_public_addresses_are_forbidden(address: str) -> None:
    assert forbidden(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.215.14", "2a00:1450:4001::1", "64:ff9b::5db8:d70e"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert not forbidden(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("10.0.0.1", False),
        ("0.0.0.0", False),
        ("::", False),
        ("169.254.1.1", False),
    ],
)
def test_allow_loopback_allows_the_loopback_range_only(address: str, allowed: bool) -> None:
    assert forbidden(ipaddress.ip_address(address), allow_loopback=True) is not allowed


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://News.Example.KZ/Story", "https://news.example.kz/Story"),
        ("http://example.kz:80/a", "http://example.kz/a"),
        ("https://example.kz:443/a", "https://example.kz/a"),
        ("https://example.kz:8443/a", "https://example.kz:8443/a"),
        ("https://example.kz/story/#comments", "https://example.kz/story"),
        ("https://example.kz/", "https://example.kz/"),
        ("https://example.kz", "https://example.kz/"),
        (
            "https://example.kz/a?utm_source=tg&id=7&utm_Medium=x&b=2",
            "https://example.kz/a?b=2&id=7",
        ),
        ("https://example.kz/a?z=1&a=2&a=1", "https://example.kz/a?a=1&a=2&z=1"),
        ("https://user:pw@example.kz/a", "https://example.kz/a"),
        ("https://пример.kz/a", "https://xn--e1afmkfd.kz/a"),
        ("http://[2001:DB8::1]:80/", "http://[2001:db8::1]/"),
    ],
)
def test_normalise_gives_one_form_for_the_same_address(url: str, expected: str) -> None:
    assert normalise(url) == expected


def test_normalise_refuses_what_is_no_web_address() -> None:
    with pytest.raises(FetchError) as caught:
        normalise("ftp://example.kz/a")
    assert caught.value.reason is FetchProblem.NOT_HTTP


def test_the_big_page_is_really_over_the_cap() -> None:
    # The streaming test proves something only if its page exceeds the default cap.
    assert FetchLimits().max_bytes + 10 * len(PIECE) < STREAMED_BYTES
