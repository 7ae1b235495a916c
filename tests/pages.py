"""Web pages for the tests of fetching and extraction, served on loopback by `PageServer`, and a
resolver that gives test host names loopback addresses (the machine has no other network)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.typedefs import Handler

ENGLISH = """<!doctype html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<title>Almaty and JINR physicists start a new run | Science Wire</title>
<meta property="og:site_name" content="Science Wire">
<meta property="article:published_time" content="2024-03-12T09:00:00+00:00">
</head>
<body>
<nav><a href="/">Home</a> <a href="/about">About us</a> <a href="/contact">Contact</a></nav>
<article>
<h1>Almaty and JINR physicists start a new run</h1>
<p>Physicists from the Institute of Nuclear Physics in Almaty began a new run at the JINR
cyclotron in Dubna this week. The collaboration has lasted more than thirty years.</p>
<p>The experiment studies the structure of light exotic nuclei. Its results will be presented
at a conference next year, the organisers said.</p>
<p>Dr. Aigerim Sadykova from Kazakhstan leads the group at the DC-280 accelerator. The beam
time was shared with teams from several member states of the institute.</p>
</article>
<footer>Copyright Science Wire, all rights reserved</footer>
</body>
</html>
"""

RUSSIAN = """<!doctype html>
<html lang="ru">
<head>
<title>Физики Казахстана и ОИЯИ обсудили планы</title>
</head>
<body>
<article>
<h1>Физики Казахстана и ОИЯИ обсудили планы</h1>
<p><time datetime="2023-10-02">2 октября 2023</time></p>
<p>Сотрудничество ОИЯИ и Республики Казахстан продолжается более тридцати лет.
Встреча физиков двух стран прошла в Дубне.</p>
<p>Учёные из Алматы представили новые результаты измерений на циклотроне.
Обсуждались планы совместных экспериментов на будущий год.</p>
</article>
</body>
</html>
"""

# A date in its text, none in its markup.
UNDATED = """<!doctype html>
<html>
<head><title>About the bulletin</title></head>
<body>
<article>
<p>We are a small group of physicists who write about nuclear science in Central Asia. We
publish interviews, reports and essays about research and the people who do it.</p>
<p>Our editors work from Astana and meet every week to plan the next issue of the bulletin for
its readers in the region and abroad.</p>
<p>The bulletin was founded on 12 March 2019 by three graduate students of physics.</p>
</article>
</body>
</html>
"""

EMPTY = "<!doctype html><html><head><title>Nothing</title></head><body></body></html>"

# More than fetching's 2 MB cap, sent a piece at a time with no Content-Length.
STREAMED_BYTES = 32 * 1024 * 1024
PIECE = b"<p>" + b"filler " * 9000 + b"</p>\n"


@dataclass
class Served:
    """What the server saw: each request's path and headers, and how the stream ended."""

    requests: list[tuple[str, Mapping[str, str]]] = field(default_factory=list)
    streamed: int = 0
    stream_done: asyncio.Event = field(default_factory=asyncio.Event)
    stream_cut_off: bool = False

    @property
    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]


class PageServer:
    """The test pages at http://127.0.0.1:PORT/..., with redirects, a PDF, an endless stream,
    a page that never answers and redirects to private addresses."""

    def __init__(self) -> None:
        self.served = Served()
        # Never set while a test runs: the page that never answers waits on it.
        self.never = asyncio.Event()
        self.port = 0

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    @asynccontextmanager
    async def running(self) -> AsyncIterator[PageServer]:
        app = web.Application(middlewares=[self._note])
        app.router.add_get("/hop/{left:\\d+}", self._hop)
        app.router.add_get("/redirect", self._redirect)
        app.router.add_get("/big", self._big)
        app.router.add_get("/never", self._never)
        app.router.add_get("/{name}", self._page)
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        self.port = int(runner.addresses[0][1])
        try:
            yield self
        finally:
            self.never.set()
            await runner.cleanup()

    @web.middleware
    async def _note(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.served.requests.append((request.path_qs, dict(request.headers)))
        return await handler(request)

    async def _page(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name == "english":
            return web.Response(text=ENGLISH, content_type="text/html")
        if name == "russian":
            # In the encoding the server names, not UTF-8: the charset must be honoured.
            body = RUSSIAN.encode("windows-1251")
            return web.Response(body=body, content_type="text/html", charset="windows-1251")
        if name == "mislabelled":
            # UTF-8, with the ISO-8859-1 that some servers still name by default.
            body = RUSSIAN.encode()
            return web.Response(body=body, content_type="text/html", charset="iso-8859-1")
        if name == "undated":
            return web.Response(text=UNDATED, content_type="text/html")
        if name == "empty":
            return web.Response(text=EMPTY, content_type="text/html")
        if name == "xhtml":
            return web.Response(text=ENGLISH, content_type="application/xhtml+xml")
        if name == "paper.pdf":
            return web.Response(
                body=b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", content_type="application/pdf"
            )
        if name == "missing":
            return web.Response(status=404, text=EMPTY, content_type="text/html")
        raise web.HTTPNotFound

    async def _hop(self, request: web.Request) -> web.Response:
        """/hop/N redirects N times (relatively, as sites often do), then serves ENGLISH."""
        left = int(request.match_info["left"])
        if left == 0:
            return web.Response(text=ENGLISH, content_type="text/html")
        return web.Response(status=302, headers={"Location": f"/hop/{left - 1}"})

    async def _redirect(self, request: web.Request) -> web.Response:
        """/redirect?to=URL: a 301 to anywhere."""
        return web.Response(status=301, headers={"Location": request.query["to"]})

    async def _big(self, request: web.Request) -> web.StreamResponse:
        """An HTML page far over the cap, chunked, noting how much got out."""
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            while self.served.streamed < STREAMED_BYTES:
                await response.write(PIECE)
                self.served.streamed += len(PIECE)
            await response.write_eof()
        except (ConnectionError, asyncio.CancelledError):
            self.served.stream_cut_off = True
            raise
        finally:
            self.served.stream_done.set()
        return response

    async def _never(self, request: web.Request) -> web.Response:
        await self.never.wait()
        return web.Response(text=ENGLISH, content_type="text/html")


class MapResolver(AbstractResolver):
    """Host names to the addresses a test gives them, and a count of the look-ups."""

    def __init__(self, names: Mapping[str, Sequence[str]]) -> None:
        self.names = names
        self.lookups: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.lookups.append(host)
        if host not in self.names:
            raise OSError(f"{host}: no such test host")
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in self.names[host]
        ]

    async def close(self) -> None:
        pass
