"""How the bot's requests reach the Bot API: python-telegram-bot's request interface on aiohttp.

PTB's own HTTPXRequest spends most of a send in httpx and httpcore (its pool bookkeeping, anyio,
h11 in pure Python): a bare PTB bot answers three to four times as many commands on this class
against the same emulator (`bench/commands.py --bare-aiohttp`, README). aiohttp parses HTTP in
C, and the project already depends on it for the emulator. The PTB maintainers keep a similar
class in ptbcontrib, which is not on PyPI, so it cannot be a dependency here.
"""

import functools
import json
import urllib.request
from collections.abc import Callable
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from telegram.error import NetworkError, TelegramError, TimedOut
from telegram.request import BaseRequest, RequestData

Timeout = float | None
Headers = dict[str, str]
# Told of every request as it ends: its URL, the HTTP status (None: no answer) and the body.
Observer = Callable[[str, int | None, bytes], None]

_JSON = {"Content-Type": "application/json"}


class Unsent(NetworkError):
    """The request never reached the Bot API (no connection could be made): sending it again
    cannot make it happen twice."""


class UnsentTimeout(TimedOut, Unsent):
    """No connection within the pool or connect timeout: a time-out, and nothing was sent."""


class ServerError(NetworkError):
    """The Bot API answered with a 5xx: it failed to do what was asked, so it may be asked
    again. (PTB maps these to a bare NetworkError, which cannot be told from a connection lost
    after the request went out.)"""


class RedirectLoop(NetworkError):
    """The Bot API URL redirects, again and again: a wrong URL, which no retry will fix."""


class AiohttpRequest(BaseRequest):
    """One connection pool to one Bot API server, with PTB's four timeouts.

    PTB's timeouts map onto aiohttp's: `pool_timeout` bounds the wait for a free connection
    (aiohttp's `connect`, which also covers opening one), `connect_timeout` the opening itself
    (`sock_connect`), `read_timeout` each wait for the server (`sock_read`). aiohttp has no write
    timeout; a send that cannot be written stalls until the read timeout instead.
    """

    def __init__(
        self,
        connection_pool_size: int,
        *,
        read_timeout: Timeout = 5.0,
        connect_timeout: Timeout = 5.0,
        pool_timeout: Timeout = 1.0,
        observe: Observer | None = None,
    ) -> None:
        self._observe = observe
        self._pool_size = connection_pool_size
        self._timeouts = aiohttp.ClientTimeout(
            total=None, connect=pool_timeout, sock_connect=connect_timeout, sock_read=read_timeout
        )
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[str, str] = {}
        self._proxy_of: dict[str, str | None] = {}

    @property
    def read_timeout(self) -> Timeout:
        """PTB adds a long poll's own wait to this for getUpdates."""
        return self._timeouts.sock_read

    async def initialize(self) -> None:
        """Open the pool; again after a shutdown, as PTB's request classes allow."""
        if self._session is None or self._session.closed:
            # The environment's proxies are read here, once: aiohttp's trust_env would read
            # them, and ~/.netrc, in a thread on every request (a third of a digest's time).
            self._proxies = urllib.request.getproxies()
            self._proxy_of = {}
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size), timeout=self._timeouts
            )

    async def shutdown(self) -> None:
        """Close the pool's connections."""
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Timeout | object = BaseRequest.DEFAULT_NONE,
        write_timeout: Timeout | object = BaseRequest.DEFAULT_NONE,
        connect_timeout: Timeout | object = BaseRequest.DEFAULT_NONE,
        pool_timeout: Timeout | object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send one request; PTB reads the status and the JSON body."""
        if self._session is None or self._session.closed:
            raise RuntimeError("this AiohttpRequest is not initialized")
        timeouts = _client_timeout(
            _given(pool_timeout, self._timeouts.connect),
            _given(connect_timeout, self._timeouts.sock_connect),
            _given(read_timeout, self._timeouts.sock_read),
        )
        body, content_type = _body(request_data)
        status: int | None = None
        payload = b""
        try:
            async with self._session.request(
                method,
                url,
                data=body,
                headers={"User-Agent": self.USER_AGENT, **content_type},
                timeout=timeouts,
                proxy=self._proxy(url),
            ) as response:
                status, payload = response.status, await response.read()
        except aiohttp.ConnectionTimeoutError as error:
            raise UnsentTimeout(
                "No connection to the Bot API within the pool or connect timeout; the request "
                "was not sent."
            ) from error
        except TimeoutError as error:
            raise TimedOut from error
        except aiohttp.TooManyRedirects as error:
            raise RedirectLoop(f"redirected {len(error.history)} times in a row") from error
        except aiohttp.ClientConnectorError as error:
            raise Unsent(f"aiohttp.{type(error).__name__}: {error}") from error
        except aiohttp.ClientError as error:
            # The class name says what happened when the message is empty (a reset, say).
            raise NetworkError(f"aiohttp.{type(error).__name__}: {error}") from error
        finally:
            if self._observe is not None:
                self._observe(url, status, payload)
        if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            raise ServerError(f"{_description(payload)} ({status})")
        return status, payload

    @staticmethod
    def parse_json_payload(payload: bytes) -> dict[str, Any]:
        """As PTB reads an answer, but one that is not JSON (a web page where the Bot API
        should be) is not logged with a traceback: the caller says in one line what is wrong.
        """
        try:
            data = json.loads(payload.decode("utf-8", "replace"))
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise TelegramError("Invalid server response")
        return data

    def _proxy(self, url: str) -> str | None:
        """As httpx would: HTTPS_PROXY or HTTP_PROXY from the environment, unless NO_PROXY."""
        origin = url.split("/", 3)[:3]
        key = "/".join(origin)
        if key not in self._proxy_of:
            scheme, host = origin[0].rstrip(":"), urlsplit(url).hostname or ""
            bypass = urllib.request.proxy_bypass(host)
            self._proxy_of[key] = None if bypass else self._proxies.get(scheme)
        return self._proxy_of[key]


def _description(payload: bytes) -> str:
    """What the Bot API said about its error, as far as its answer says anything."""
    try:
        answer = json.loads(payload)
    except ValueError:
        return "Bot API server error"
    description = answer.get("description") if isinstance(answer, dict) else None
    return str(description or "Bot API server error")


def _given(value: Timeout | object, default: Timeout) -> Timeout:
    """A timeout PTB passed, or ours when it passed none."""
    if value is BaseRequest.DEFAULT_NONE:
        return default
    assert value is None or isinstance(value, int | float)
    return value


@functools.lru_cache(maxsize=16)
def _client_timeout(pool: Timeout, connect: Timeout, read: Timeout) -> aiohttp.ClientTimeout:
    """aiohttp's timeouts for PTB's: a few combinations, each made once (aiohttp's attrs class
    costs a twentieth of a send to build).
    """
    return aiohttp.ClientTimeout(total=None, connect=pool, sock_connect=connect, sock_read=read)


def _body(request_data: RequestData | None) -> tuple[bytes | aiohttp.FormData | None, Headers]:
    """The body and its type: JSON, which the Bot API takes for every method; multipart for files.

    JSON is encoded in C; a form is quoted byte by byte in Python, which for a message in
    Cyrillic cost a tenth of a send.
    """
    if request_data is None:
        return None, {}
    if not request_data.contains_files:
        return request_data.json_payload, _JSON
    form = aiohttp.FormData(request_data.json_parameters)
    for name, (filename, content, mime_type) in request_data.multipart_data.items():
        form.add_field(name, content, filename=filename, content_type=mime_type)
    return form, {}
