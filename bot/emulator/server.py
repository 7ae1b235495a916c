"""The emulator's HTTP side: routing and the token check, then injected faults, blocks and rate
limits, and only then the method; every call is logged, and calls and errors are counted.
"""

import asyncio
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import web

from bot.emulator.limits import RateLimiter
from bot.emulator.methods import Method
from bot.emulator.params import Params, read_params
from bot.emulator.store import Signal, Store
from bot.emulator.values import ApiError, Call, Stats

MAX_UPLOAD_BYTES = 50 * 1024 * 1024

_RATE_LIMITED = frozenset({"sendMessage", "sendDocument"})


@dataclass
class _Delay:
    method: str
    seconds: float
    remaining: int


@dataclass
class _Fault:
    method: str
    error: ApiError
    remaining: int
    chat_id: int | None
    # Matching calls let through before the first that fails.
    passing: int = 0


class ApiServer:
    """One bot token's Bot API over HTTP on 127.0.0.1, at a port free when it starts."""

    def __init__(
        self,
        token: str,
        store: Store,
        methods: Mapping[str, Method],
        limiter: RateLimiter | None = None,
    ) -> None:
        self._token = token
        self._store = store
        self._limiter = limiter
        # Telegram matches method names case-insensitively.
        self._methods = {name.lower(): (name, method) for name, method in methods.items()}
        self._sending = frozenset(
            name for name in methods if name.startswith(("send", "edit", "copy", "forward"))
        )
        self.calls: list[Call] = []
        self.call_made = Signal()
        self.stats = Stats()
        self._faults: list[_Fault] = []
        self._delays: list[_Delay] = []
        self._blocked: set[int] = set()
        self._answering = asyncio.Event()
        self._answering.set()
        # Methods whose calls wait, once logged, until their gate opens; how many wait now (a
        # call whose client went away stops waiting, and is never carried out).
        self._held: dict[str, asyncio.Event] = {}
        self.waiting: Counter[str] = Counter()
        self.waiting_changed = Signal()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    @property
    def origin(self) -> str:
        """Where the server listens; RuntimeError before it has started."""
        if self._port is None:
            raise RuntimeError("the emulator is not running; await start() first")
        return f"http://127.0.0.1:{self._port}"

    async def start(self) -> None:
        """Listen on a free loopback port."""
        if self._runner is not None:
            raise RuntimeError("the emulator is already running")
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES)
        app.router.add_route("*", "/bot{token}/{method}", self._serve_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._serve_file)
        app.router.add_route("*", "/{tail:.*}", self._serve_unknown)
        # A bot that gives up on a long poll disconnects; cancelling its handler frees it.
        runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=2.0
        )
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        self._port = int(runner.addresses[0][1])
        self._runner = runner
        self._store.closing = False

    async def stop(self) -> None:
        """Answer pending long polls with no updates, then close every connection."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._store.closing = True
        self._store.updates_arrived.pulse()
        await runner.cleanup()

    def fail(
        self, method: str, error: ApiError, *, times: int, chat_id: int | None, after: int = 0
    ) -> None:
        """Answer `times` calls of `method` (to `chat_id` only, if given) with `error`, once
        `after` more of them have gone through."""
        entry = self._methods.get(method.lower())
        if entry is None:
            raise ValueError(f"the emulator does not implement {method}")
        if times < 1:
            raise ValueError("times must be at least 1")
        self._faults.append(_Fault(entry[0], error, times, chat_id, after))

    def answer_late(self, method: str, seconds: float, *, times: int) -> None:
        """Do the next `times` calls of `method` at once, and answer each `seconds` later."""
        entry = self._methods.get(method.lower())
        if entry is None:
            raise ValueError(f"the emulator does not implement {method}")
        if times < 1:
            raise ValueError("times must be at least 1")
        self._delays.append(_Delay(entry[0], seconds, times))

    def block(self, chat_id: int) -> None:
        """Make every send to this chat fail with 403 until unblock()."""
        self._blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        """Let sends to this chat through again."""
        self._blocked.discard(chat_id)

    def stall(self, seconds: float) -> None:
        """Answer nothing for `seconds`; calls that arrive meanwhile go on when it resumes."""
        answering = asyncio.Event()
        self._answering = answering
        asyncio.get_running_loop().call_later(seconds, answering.set)

    def resume(self) -> None:
        """End a stall now."""
        self._answering.set()

    def hold(self, method: str) -> None:
        """Keep calls of `method` waiting, each logged as it arrives, until release()."""
        entry = self._methods.get(method.lower())
        if entry is None:
            raise ValueError(f"the emulator does not implement {method}")
        self._held.setdefault(entry[0], asyncio.Event())

    def release(self, method: str) -> None:
        """Answer the held calls of `method`, and those that come after, as usual."""
        entry = self._methods.get(method.lower())
        gate = self._held.pop(entry[0], None) if entry is not None else None
        if gate is not None:
            gate.set()

    async def _serve_method(self, request: web.Request) -> web.Response:
        if not self._answering.is_set():
            await self._answering.wait()
        if request.match_info["token"] != self._token:
            return self._error_response(ApiError(401, "Unauthorized"))
        entry = self._methods.get(request.match_info["method"].lower())
        if entry is None:
            self.stats.unknown_methods[request.match_info["method"]] += 1
            return self._error_response(ApiError(404, "Not Found"))
        name, method = entry
        self.stats.calls[name] += 1
        try:
            values = await read_params(request)
        except ApiError as error:
            self._log_call(Call(name, {}, error.description))
            return self._error_response(error)
        call = self._log_call(Call(name, values))
        gate = self._held.get(name)
        if gate is not None:
            self.waiting[name] += 1
            try:
                await gate.wait()
            finally:
                self.waiting[name] -= 1
                self.waiting_changed.pulse()
        try:
            params = Params(values)
            self._apply_faults(name, params)
            result = await method(params)
        except ApiError as error:
            call.error = error.description
            return self._error_response(error)
        delay = self._take_delay(name)
        if delay:
            # Done already: a client that gives up meanwhile has had it done all the same.
            await asyncio.sleep(delay)
        return web.json_response({"ok": True, "result": result})

    def _take_delay(self, method: str) -> float:
        for delay in self._delays:
            if delay.method == method:
                delay.remaining -= 1
                if delay.remaining == 0:
                    self._delays.remove(delay)
                return delay.seconds
        return 0.0

    def _log_call(self, call: Call) -> Call:
        self.calls.append(call)
        self.call_made.pulse()
        return call

    async def _serve_file(self, request: web.Request) -> web.StreamResponse:
        file_id = request.match_info["path"].rpartition("/")[2]
        document = self._store.documents.get(file_id)
        if request.match_info["token"] != self._token or document is None:
            return self._error_response(ApiError(404, "Not Found"))
        return web.Response(body=document.content, content_type="application/octet-stream")

    async def _serve_unknown(self, request: web.Request) -> web.Response:
        return self._error_response(ApiError(404, "Not Found"))

    def _error_response(self, error: ApiError) -> web.Response:
        self.stats.errors[error.status] += 1
        if error.status == 429:
            self.stats.too_many_requests += 1
        return web.json_response(error.to_json(), status=error.status)

    def _apply_faults(self, method: str, params: Params) -> None:
        chat_id = params.values.get("chat_id")
        for fault in self._faults:
            if fault.method == method and fault.chat_id in (None, chat_id):
                if fault.passing:
                    fault.passing -= 1
                    break
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                raise fault.error.copy()
        if method not in self._sending or not isinstance(chat_id, int):
            return
        if chat_id in self._blocked:
            raise self._blocked_error(chat_id)
        if self._limiter is not None and method in _RATE_LIMITED:
            self._limiter.take(chat_id)

    def _blocked_error(self, chat_id: int) -> ApiError:
        kind = self._store.chats[chat_id].chat.type if chat_id in self._store.chats else "private"
        if kind == "private":
            return ApiError.blocked()
        return ApiError(403, f"Forbidden: bot was kicked from the {kind} chat")
