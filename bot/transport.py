"""How the bot's requests reach the Bot API: python-telegram-bot's request interface on aiohttp.

PTB's own HTTPXRequest spends most of a send in httpx and httpcore (its pool bookkeeping, anyio,
h11 in pure Python): here a bare PTB send loop made 490 sends/s on it and 1,490/s on this class,
against the same emulator (`bench/README.md`). aiohttp parses HTTP in C, and the project already
depends on it for the emulator. The PTB maintainers keep a similar class in ptbcontrib, which is
not on PyPI, so it cannot be a dependency here.
"""

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

Timeout = float | None


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
    ) -> None:
        self._pool_size = connection_pool_size
        self._timeouts = aiohttp.ClientTimeout(
            total=None, connect=pool_timeout, sock_connect=connect_timeout, sock_read=read_timeout
        )
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> Timeout:
        """PTB adds a long poll's own wait to this for getUpdates."""
        return self._timeouts.sock_read

    async def initialize(self) -> None:
        """Open the pool; again after a shutdown, as PTB's request classes allow."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                timeout=self._timeouts,
                # As httpx does: HTTPS_PROXY and NO_PROXY from the environment are honoured.
                trust_env=True,
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
        timeouts = aiohttp.ClientTimeout(
            total=None,
            connect=_given(pool_timeout, self._timeouts.connect),
            sock_connect=_given(connect_timeout, self._timeouts.sock_connect),
            sock_read=_given(read_timeout, self._timeouts.sock_read),
        )
        try:
            async with self._session.request(
                method,
                url,
                data=_form(request_data),
                headers={"User-Agent": self.USER_AGENT},
                timeout=timeouts,
            ) as response:
                return response.status, await response.read()
        except aiohttp.ConnectionTimeoutError as error:
            raise TimedOut(
                "No connection to the Bot API within the pool or connect timeout; the request "
                "was not sent."
            ) from error
        except TimeoutError as error:
            raise TimedOut from error
        except aiohttp.ClientError as error:
            # The class name says what happened when the message is empty (a reset, say).
            raise NetworkError(f"aiohttp.{type(error).__name__}: {error}") from error


def _given(value: Timeout | object, default: Timeout) -> Timeout:
    """A timeout PTB passed, or ours when it passed none."""
    if value is BaseRequest.DEFAULT_NONE:
        return default
    assert value is None or isinstance(value, int | float)
    return value


def _form(request_data: RequestData | None) -> dict[str, str] | aiohttp.FormData | None:
    """The body: a plain form (as Telegram most often gets it), multipart when files go too."""
    if request_data is None:
        return None
    fields = request_data.json_parameters
    if not request_data.contains_files:
        return fields
    form = aiohttp.FormData(fields)
    for name, (filename, content, mime_type) in request_data.multipart_data.items():
        form.add_field(name, content, filename=filename, content_type=mime_type)
    return form
