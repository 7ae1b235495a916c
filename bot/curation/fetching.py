"""Fetching a public web page for ``/addsource``, safely: what a curator pastes is untrusted.

Only http and https, only public addresses, only HTML, a bounded size, time and redirect chain.
The address rule is enforced where the connection is made: the session's resolver
(`GuardedResolver`) refuses a host any of whose addresses is not public, and the connector
connects to the addresses that resolver returned, so a DNS answer that changes between a check
and the connection (DNS rebinding) cannot slip through. aiohttp skips the resolver for a host
written as an IP address; those are checked here before each request, redirects included.
Redirects are followed by hand, so that every hop passes the same checks.

Every refusal and failure is a `FetchError` whose `reason` tells a handler which message to
give. No message shows credentials written in a URL: they are stripped before anything else
(and never sent).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlunsplit
from weakref import WeakKeyDictionary

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

SCHEMES = frozenset({"http", "https"})
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
REDIRECTS = frozenset({301, 302, 303, 307, 308})
DEFAULT_PORTS = {"http": 80, "https": 443}
# What a host name may hold once yarl has encoded it (IDNA to ASCII): anything else (a space,
# a backslash) is a typo or a trick, and aiohttp would only fail later and less clearly.
HOST_SHAPE = re.compile(r"[A-Za-z0-9._:%-]+")
# NAT64's well-known prefix (RFC 6052): the last 32 bits are the IPv4 address reached.
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
HEADERS = {
    "User-Agent": "coopbot (checks a source page a curator added)",
    "Accept": "text/html,application/xhtml+xml;q=0.9",
}
CHUNK = 64 * 1024
# A scheme and "//", then credentials up to the last "@" before the path: what a URL's
# userinfo is (RFC 3986, 3.2.1); the greedy match takes a password that holds an "@".
CREDENTIALS = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@")


class FetchProblem(StrEnum):
    """Why a page was not fetched: one message each for the curator."""

    NOT_HTTP = "not_http"
    BAD_URL = "bad_url"
    PRIVATE_ADDRESS = "private_address"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    TOO_BIG = "too_big"
    TIMEOUT = "timeout"
    NOT_HTML = "not_html"
    HTTP_STATUS = "http_status"
    UNREACHABLE = "unreachable"


class FetchError(Exception):
    """A page refused or not fetched; `detail` is for the log and never holds credentials."""

    def __init__(self, reason: FetchProblem, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class FetchLimits:
    """How much one fetch may take; tests shorten the time-out."""

    timeout: float = 10.0
    max_bytes: int = 2 * 1024 * 1024
    max_redirects: int = 5


@dataclass(frozen=True)
class Page:
    """A fetched HTML page: `url` after redirects, `requested` as asked (both without
    credentials), the body as sent, at most `FetchLimits.max_bytes`."""

    url: str
    requested: str
    status: int
    content_type: str
    charset: str | None
    body: bytes


def forbidden(address: Address, *, allow_loopback: bool = False) -> bool:
    """Whether a connection to this address is refused: anything but a public unicast address.

    An IPv6 address that stands for an IPv4 one (IPv4-mapped, 6to4, NAT64) is judged by the
    IPv4 address it reaches. With `allow_loopback`, 127.0.0.0/8 and ::1 are allowed too.
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return forbidden(embedded, allow_loopback=allow_loopback)
        if address.is_site_local:
            return True
    if address.is_loopback:
        return not allow_loopback
    return (
        not address.is_global
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


class GuardedResolver(AbstractResolver):
    """A resolver that refuses a host if any of its addresses is `forbidden`.

    The connector connects only to what this returns, so the addresses checked are the ones
    used. A host with both public and private addresses is refused whole: which one a
    connection would get is up to the order of the answer.
    """

    def __init__(self, inner: AbstractResolver | None = None, *, allow_loopback: bool) -> None:
        self._inner = inner if inner is not None else DefaultResolver()
        self.allow_loopback = allow_loopback

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """The inner resolver's addresses, each of them allowed, or a `FetchError`."""
        results = await self._inner.resolve(host, port, family)
        for result in results:
            address = ipaddress.ip_address(result["host"])
            if forbidden(address, allow_loopback=self.allow_loopback):
                raise FetchError(
                    FetchProblem.PRIVATE_ADDRESS, f"{host} resolves to {address}, not public"
                )
        return results

    async def close(self) -> None:
        """Close the inner resolver."""
        await self._inner.close()


# Which sessions fetch_session made, with their resolver's rule: fetch_page refuses any other
# session, whose connector would not check addresses at all.
_GUARDED: WeakKeyDictionary[aiohttp.ClientSession, bool] = WeakKeyDictionary()


def fetch_session(
    *, allow_loopback: bool = False, resolver: AbstractResolver | None = None
) -> aiohttp.ClientSession:
    """A session for `fetch_page`, to share between fetches; the caller closes it.

    `resolver` replaces the system's name lookup (tests map names to loopback addresses); the
    guard is put in front of it either way. The environment's proxies are not used: through a
    proxy, the address checked would be the proxy's.
    """
    guard = GuardedResolver(resolver, allow_loopback=allow_loopback)
    # No DNS cache: each new connection has its host looked up, and checked, afresh.
    connector = aiohttp.TCPConnector(resolver=guard, use_dns_cache=False)
    # The time-out is fetch_page's, over the whole chain of redirects.
    session = aiohttp.ClientSession(
        connector=connector,
        headers=HEADERS,
        trust_env=False,
        timeout=aiohttp.ClientTimeout(total=None),
    )
    _GUARDED[session] = allow_loopback
    return session


def _parsed(url: str) -> URL:
    """An http(s) URL with a host, without credentials or fragment, or why not."""
    try:
        parsed = URL(url)
        scheme, host = parsed.scheme, parsed.raw_host
        parsed.port  # noqa: B018 (reading it is what checks the port's range)
    except (ValueError, TypeError) as error:
        raise FetchError(FetchProblem.BAD_URL, "not a URL") from error
    if scheme not in SCHEMES:
        shown = f"a {scheme}: URL" if scheme else "a URL without a scheme"
        raise FetchError(FetchProblem.NOT_HTTP, f"{shown}, not http or https")
    if not host or not HOST_SHAPE.fullmatch(host):
        raise FetchError(FetchProblem.BAD_URL, "no host name in the URL")
    return parsed.with_user(None).with_fragment(None)


def _checked(url: str, *, allow_loopback: bool) -> URL:
    """The URL to request, or why not; a host written as an IP address must be public here,
    since aiohttp resolves no such host (a name's addresses are the resolver's to check)."""
    clean = _parsed(url)
    try:
        address = ipaddress.ip_address(clean.raw_host or "")
    except ValueError:
        return clean
    if forbidden(address, allow_loopback=allow_loopback):
        raise FetchError(FetchProblem.PRIVATE_ADDRESS, f"{clean}: {address} is not public")
    return clean


async def fetch_page(
    url: str,
    *,
    session: aiohttp.ClientSession | None = None,
    allow_loopback: bool = False,
    limits: FetchLimits = FetchLimits(),
) -> Page:
    """The HTML page at `url`, redirects followed, or a `FetchError` saying why not.

    `session`, if given, must come from `fetch_session` with the same `allow_loopback`.
    """
    if session is None:
        async with fetch_session(allow_loopback=allow_loopback) as own:
            return await fetch_page(url, session=own, allow_loopback=allow_loopback, limits=limits)
    if _GUARDED.get(session) != allow_loopback:
        raise ValueError("fetch_page needs a session from fetch_session, with its allow_loopback")
    requested = _without_credentials(url)
    try:
        async with asyncio.timeout(limits.timeout):
            return await _follow(url, requested, session, allow_loopback, limits)
    except TimeoutError as error:
        raise FetchError(
            FetchProblem.TIMEOUT, f"{requested}: no page within {limits.timeout:g} s"
        ) from error


async def _follow(
    url: str,
    requested: str,
    session: aiohttp.ClientSession,
    allow_loopback: bool,
    limits: FetchLimits,
) -> Page:
    """Each hop checked, then asked; the first answer that is not a redirect read."""
    current = _checked(url, allow_loopback=allow_loopback)
    for hop in range(limits.max_redirects + 1):
        try:
            async with session.get(current, allow_redirects=False) as response:
                if response.status not in REDIRECTS:
                    body = await _read(current, response, limits)
                    return Page(
                        url=str(current),
                        requested=requested,
                        status=response.status,
                        content_type=response.content_type,
                        charset=response.charset,
                        body=body,
                    )
                location = response.headers.get("Location")
        except TimeoutError:
            raise  # aiohttp's own time-outs are OSErrors too: fetch_page words them
        except aiohttp.InvalidURL as error:
            raise FetchError(FetchProblem.BAD_URL, f"{current}: not a URL") from error
        except (aiohttp.ClientError, OSError) as error:
            raise FetchError(
                FetchProblem.UNREACHABLE, f"{current}: {type(error).__name__}"
            ) from error
        if location is None:
            raise FetchError(FetchProblem.HTTP_STATUS, f"{current}: a redirect to nowhere")
        if hop == limits.max_redirects:
            break
        try:
            target = str(current.join(URL(location)))
        except ValueError as error:
            raise FetchError(FetchProblem.BAD_URL, f"{current}: redirects to no URL") from error
        current = _checked(target, allow_loopback=allow_loopback)
    raise FetchError(
        FetchProblem.TOO_MANY_REDIRECTS,
        f"{requested}: more than {limits.max_redirects} redirects",
    )


async def _read(url: URL, response: aiohttp.ClientResponse, limits: FetchLimits) -> bytes:
    """The body of an HTML answer, read no further than the size limit."""
    if not 200 <= response.status < 300:
        raise FetchError(FetchProblem.HTTP_STATUS, f"{url}: HTTP {response.status}")
    if response.content_type not in HTML_TYPES:
        raise FetchError(FetchProblem.NOT_HTML, f"{url}: {response.content_type}, not HTML")
    too_big = FetchError(FetchProblem.TOO_BIG, f"{url}: more than {limits.max_bytes} bytes")
    if (response.content_length or 0) > limits.max_bytes:
        raise too_big
    body = bytearray()
    async for chunk in response.content.iter_chunked(CHUNK):
        body += chunk
        if len(body) > limits.max_bytes:
            # Leaving the response unread closes its connection: nothing more is downloaded.
            raise too_big
    return bytes(body)


def _without_credentials(url: str) -> str:
    """The URL as given, less any user name and password, whether it parses or not."""
    return CREDENTIALS.sub(r"\1", url, count=1)


def normalise(url: str) -> str:
    """The form under which the same address is not added twice.

    Scheme and host in lower case, no default port, credentials or fragment, no trailing slash
    (but "/" for the root), no utm_* parameters, the other parameters sorted (each kept as
    written). Raises `FetchError` for what `fetch_page` would refuse as no http(s) URL.
    """
    clean = _parsed(url)
    host = clean.raw_host or ""
    netloc = f"[{host}]" if ":" in host else host
    if clean.explicit_port is not None and clean.explicit_port != DEFAULT_PORTS[clean.scheme]:
        netloc += f":{clean.explicit_port}"
    path = clean.raw_path.rstrip("/") or "/"
    pairs = [pair for pair in clean.raw_query_string.split("&") if pair]
    kept = sorted(
        (pair for pair in pairs if not pair.partition("=")[0].lower().startswith("utm_")),
        key=lambda pair: (pair.partition("=")[0], pair),
    )
    return urlunsplit((clean.scheme, netloc, path, "&".join(kept), ""))
