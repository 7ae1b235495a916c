"""The limiter keeps every window Telegram measures, lets replies overtake fan-outs, honours 429s.

Unit tests run on an event loop whose clock jumps to the next timer whenever every task waits:
schedules come out exact and the runs take no real time. The emulator tests run the real PTB
stack against strict sliding windows in real time, for about two seconds each.
"""

from __future__ import annotations

import asyncio
import itertools
import selectors
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram.error import ChatMigrated, Forbidden, RetryAfter
from telegram.ext import ExtBot
from telegram.warnings import PTBDeprecationWarning

from bot.app import CONNECTION_POOL_SIZE
from bot.emulator import ApiError, BotApiEmulator, RateLimits
from bot.settings import Limits
from bot.telegram.pacing import MAX_RETRIES, Result, SmoothRateLimiter, low_priority
from bot.telegram.slots import GUARD, REPLY_BURST
from bot.telegram.transport import AiohttpRequest
from tests.conftest import TEST_TOKEN, Running

T = TypeVar("T")


class _JumpingSelector(selectors.DefaultSelector):
    """Where a loop would block until its next timer, moves the loop's clock there instead."""

    def __init__(self, loop: VirtualTimeLoop) -> None:
        super().__init__()
        self._loop = loop

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        events = super().select(0)
        if events or timeout == 0:
            return events
        if timeout is None:
            raise RuntimeError("every task waits for something no timer will bring: deadlock")
        self._loop.now += timeout + self._loop.lateness
        return events


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop on virtual time: whenever every task waits, it jumps to the next timer,
    or `lateness` seconds past it, as a real loop wakes a little after its timers.
    """

    def __init__(self, lateness: float = 0.0) -> None:
        self.now = 0.0
        self.lateness = lateness
        super().__init__(_JumpingSelector(self))

    def time(self) -> float:
        return self.now


def run_virtual(main: Callable[[], Coroutine[Any, Any, T]], *, lateness: float = 0.0) -> T:
    with asyncio.Runner(loop_factory=lambda: VirtualTimeLoop(lateness)) as runner:
        return runner.run(main())


def now() -> float:
    return asyncio.get_running_loop().time()


@dataclass
class Call:
    label: str
    chat_id: int | str | None
    endpoint: str
    at: float


@dataclass
class FakeApi:
    """Stands in for PTB's HTTP call: records what went when, and refuses when told to."""

    limiter: SmoothRateLimiter
    calls: list[Call] = field(default_factory=list)
    refusals: dict[str, list[Exception]] = field(default_factory=dict)
    # Set when the number of calls reaches `watch_for`.
    reached: asyncio.Event = field(default_factory=asyncio.Event)
    watch_for: int = -1
    # How long each call takes to come back, and the most that were out at once.
    latency: float = 0.0
    # Spells when Telegram stalls: a call arriving in one is counted (and recorded) at its end.
    stalls: list[tuple[float, float]] = field(default_factory=list)
    out: int = 0
    most_out: int = 0

    async def request(
        self, chat_id: int | str | None, label: str = "", endpoint: str = "sendMessage"
    ) -> Result:
        async def callback() -> Result:
            for start, end in self.stalls:
                if start <= now() < end:
                    await asyncio.sleep(end - now())
            self.calls.append(Call(label, chat_id, endpoint, now()))
            if len(self.calls) == self.watch_for:
                self.reached.set()
            self.out += 1
            self.most_out = max(self.most_out, self.out)
            try:
                if self.latency:
                    await asyncio.sleep(self.latency)
                refusals = self.refusals.get(label)
                if refusals:
                    raise refusals.pop(0)
                return True
            finally:
                self.out -= 1

        data = {"chat_id": chat_id, "text": "hello"}
        return await self.limiter.process_request(callback, (), {}, endpoint, data, None)

    def times(self, chat_id: int | str | None = None) -> list[float]:
        return [c.at for c in self.calls if chat_id is None or c.chat_id == chat_id]


def make_api(limits: Limits | None = None, *, connections: int | None = None) -> FakeApi:
    return FakeApi(SmoothRateLimiter(limits or Limits(), connections=connections, clock=now))


def flood(seconds: int) -> RetryAfter:
    """A 429 as PTB raises it; PTB's own __init__ reads its deprecated retry_after and warns."""
    with pytest.warns(PTBDeprecationWarning, match="retry_after"):
        return RetryAfter(seconds)


def most_in_any_window(times: list[float], span: float) -> int:
    """The most sends in any closed interval `span` long: stricter than Telegram's window."""
    ordered = sorted(times)
    return max(
        (sum(1 for t in ordered[i:] if t - start <= span) for i, start in enumerate(ordered)),
        default=0,
    )


async def fan_out(api: FakeApi, *, chats: int) -> FakeApi:
    """A digest's sends: one to each of `chats` chats, all asked for at once."""
    with low_priority():
        await asyncio.gather(*(api.request(chat_id) for chat_id in range(1, chats + 1)))
    return api


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


def test_sends_are_evenly_spaced_and_no_second_holds_more_than_the_limit() -> None:
    async def main() -> FakeApi:
        api = make_api(Limits(per_second=30))
        await asyncio.gather(*(api.request(chat_id) for chat_id in range(1, 91)))
        return api

    api = run_virtual(main)

    times = api.times()
    assert len(times) == 90
    assert times[0] == 0.0
    # Each second's first send waits for the answer a second before it, plus a millisecond.
    assert gaps(times) == pytest.approx([1 / 30] * 89, abs=0.0011)
    assert most_in_any_window(times, 1.0) == 30
    assert 89 / (times[-1] - times[0]) >= 0.99 * 30


def test_timers_that_fire_late_do_not_slow_a_fast_rate() -> None:
    # A real loop wakes a millisecond or so after a timer is due (epoll counts whole
    # milliseconds): at 1,000 a second that is more than a slot each time.
    async def main() -> FakeApi:
        api = make_api(Limits(per_second=1000))
        return await fan_out(api, chats=3000)

    api = run_virtual(main, lateness=0.0015)

    times = api.times()
    assert 2999 / (times[-1] - times[0]) >= 0.97 * 1000
    assert most_in_any_window(times, 1.0) <= 1000


def test_sends_telegram_counts_late_hold_back_the_ones_a_second_after_them() -> None:
    # Telegram stalls for 60 ms now and then, and counts the sends that came meanwhile at once,
    # when it resumes. The window must hold on Telegram's clock, where they crowd the second
    # after them.
    async def main() -> FakeApi:
        api = make_api(Limits(per_second=100))
        api.stalls = [(start, start + 0.06) for start in (0.5, 1.7, 2.9, 4.1)]
        return await fan_out(api, chats=500)

    api = run_virtual(main)

    times = api.times()
    assert len(times) == 500
    assert most_in_any_window(times, 1.0) <= 100
    # Only the sends a second after a stall wait for it.
    assert 499 / (max(times) - min(times)) >= 0.95 * 100


def test_a_slow_api_gets_no_more_sends_at_once_than_there_are_connections() -> None:
    # Each answer takes 20 ms: at 1,000 a second, four connections carry only 200 a second.
    async def main() -> FakeApi:
        api = make_api(Limits(per_second=1000), connections=4)
        api.latency = 0.02
        return await fan_out(api, chats=400)

    api = run_virtual(main)

    times = api.times()
    assert len(times) == 400
    assert api.most_out == 4
    # Each send went when one of the four before it had come back, not queued behind them.
    assert all(round(b - a, 9) >= 0.02 for a, b in zip(times, times[4:], strict=False))
    assert 396 / (times[-1] - times[0]) >= 0.97 * 4 / 0.02


def test_a_request_cancelled_just_as_it_is_let_go_frees_its_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def main() -> FakeApi:
        api = make_api(Limits(per_second=1000), connections=1)
        api.latency = 0.01
        api.watch_for = 1
        first = asyncio.create_task(api.request(1))
        await api.reached.wait()
        cancelled = asyncio.create_task(api.request(2))
        grant = api.limiter._grant

        def grant_then_cancel(*args: Any) -> None:
            grant(*args)
            cancelled.cancel()  # a no-op once it is done

        monkeypatch.setattr(api.limiter, "_grant", grant_then_cancel)
        await first
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        # With the connection still counted as taken, this would wait for ever (a deadlock).
        await api.request(3)
        return api

    assert [c.chat_id for c in run_virtual(main).calls] == [1, 3]


def test_fan_out_messages_to_one_chat_are_a_second_apart_and_hold_up_no_other_chat() -> None:
    async def main() -> FakeApi:
        api = make_api()
        with low_priority():
            to_one = [api.request(7, label="seven") for _ in range(5)]
            await asyncio.gather(*to_one, api.request(8, label="eight"))
        return api

    api = run_virtual(main)

    assert gaps(api.times(7)) == pytest.approx([1 + GUARD] * 4)
    assert [c.label for c in api.calls[:2]] == ["seven", "eight"]


def test_replies_to_one_chat_may_burst_a_little_then_keep_its_rate() -> None:
    async def main() -> FakeApi:
        api = make_api()
        replies = (api.request(7, label="reply") for _ in range(REPLY_BURST + 2))
        await asyncio.gather(*replies)
        with low_priority():
            await api.request(7, label="digest")
        return api

    api = run_virtual(main)

    spacing, second = 1 / 30, 1 + GUARD
    burst = [n * spacing for n in range(REPLY_BURST)]
    assert api.times(7) == pytest.approx([*burst, second, 2 * second, (REPLY_BURST + 2) * second])


def test_a_group_gets_its_twenty_a_minute_three_seconds_apart() -> None:
    async def main() -> FakeApi:
        api = make_api(Limits(per_group_per_minute=20))
        with low_priority():
            await asyncio.gather(*(api.request(-100) for _ in range(25)))
        return api

    api = run_virtual(main)

    times = api.times(-100)
    assert gaps(times) == pytest.approx([(60 + GUARD) / 20] * 24)
    assert most_in_any_window(times, 60.0) == 20


def test_replies_never_give_a_group_more_than_its_twenty_a_minute() -> None:
    async def main() -> FakeApi:
        api = make_api(Limits(per_group_per_minute=20))
        await asyncio.gather(*(api.request(-100) for _ in range(45)))
        return api

    api = run_virtual(main)

    times = api.times(-100)
    assert most_in_any_window(times, 60.0) == 20
    assert times[20] - times[0] >= 60.0


def test_a_username_chat_is_paced_as_a_group() -> None:
    async def main() -> FakeApi:
        api = make_api()
        with low_priority():
            await asyncio.gather(*(api.request("@coop_news") for _ in range(3)))
        return api

    api = run_virtual(main)

    assert gaps(api.times("@coop_news")) == pytest.approx([(60 + GUARD) / 20] * 2)


def test_a_reply_with_nothing_else_sending_goes_at_once() -> None:
    async def main() -> tuple[float, FakeApi]:
        api = make_api()
        await api.request(1)
        await asyncio.sleep(5.0)
        asked = now()
        await api.request(2)
        return asked, api

    asked, api = run_virtual(main)

    assert api.times(2) == [asked]


def test_a_reply_overtakes_a_hundred_waiting_fan_out_messages() -> None:
    async def main() -> tuple[float, FakeApi]:
        api = make_api()
        api.watch_for = 5
        with low_priority():
            digest = [asyncio.create_task(api.request(chat_id)) for chat_id in range(1, 101)]
        await api.reached.wait()
        asked = now()
        await api.request(1001, label="reply")
        await asyncio.gather(*digest)
        return asked, api

    asked, api = run_virtual(main)

    assert [c.label for c in api.calls].index("reply") == 5
    assert api.times(1001)[0] - asked <= (1 + GUARD) / 30
    assert len(api.calls) == 101


def test_a_reply_to_a_chat_whose_digest_is_queued_goes_before_that_digest() -> None:
    async def main() -> FakeApi:
        api = make_api()
        api.watch_for = 1
        with low_priority():
            digest = [
                asyncio.create_task(api.request(chat_id, label="digest"))
                for chat_id in range(1, 101)
            ]
        await api.reached.wait()
        await api.request(50, label="reply")
        await asyncio.gather(*digest)
        return api

    api = run_virtual(main)

    assert [c.label for c in api.calls if c.chat_id == 50] == ["reply", "digest"]
    assert gaps(api.times(50))[0] >= 1.0


def test_a_429_pauses_every_send_then_the_refused_message_goes_first() -> None:
    async def main() -> tuple[tuple[Result, ...], FakeApi]:
        api = make_api()
        api.refusals["a"] = [flood(2)]
        results = await asyncio.gather(
            api.request(1, label="a"), api.request(2, label="b"), api.request(3, label="c")
        )
        return results, api

    results, api = run_virtual(main)

    assert list(results) == [True, True, True]
    assert [(c.label, c.at) for c in api.calls[:2]] == [
        ("a", 0.0),
        ("a", pytest.approx(2.0 + GUARD)),
    ]
    assert [c.label for c in api.calls[2:]] == ["b", "c"]


def test_a_message_refused_more_often_than_it_may_retry_raises() -> None:
    async def main() -> FakeApi:
        api = make_api()
        api.refusals["a"] = [flood(1) for _ in range(MAX_RETRIES + 1)]
        with pytest.raises(RetryAfter):
            await api.request(1, label="a")
        return api

    api = run_virtual(main)

    assert len(api.calls) == MAX_RETRIES + 1


@pytest.mark.parametrize(
    "error",
    [Forbidden("Forbidden: bot was blocked by the user"), ChatMigrated(-1005)],
    ids=["forbidden", "migrated"],
)
def test_other_errors_pass_through_untouched_and_pause_nothing(error: Exception) -> None:
    async def main() -> FakeApi:
        api = make_api()
        api.refusals["a"] = [error]
        with pytest.raises(type(error)) as caught:
            await api.request(1, label="a")
        assert caught.value is error
        await api.request(2, label="b")
        return api

    api = run_virtual(main)

    assert [c.label for c in api.calls] == ["a", "b"]
    assert api.calls[1].at == pytest.approx(1 / 30)


def test_methods_that_send_no_message_go_at_once_even_during_a_pause() -> None:
    async def main() -> tuple[float, FakeApi]:
        api = make_api()
        api.refusals["flood"] = [flood(5)]
        api.watch_for = 1
        flooded = asyncio.create_task(api.request(1, label="flood"))
        with low_priority():
            digest = [asyncio.create_task(api.request(chat_id)) for chat_id in range(2, 50)]
        await api.reached.wait()
        await asyncio.sleep(1.0)
        asked = now()
        for endpoint in ("answerCallbackQuery", "getChatMember", "sendChatAction", "getMe"):
            await api.request(1, label="other", endpoint=endpoint)
        await asyncio.gather(flooded, *digest)
        return asked, api

    asked, api = run_virtual(main)

    others = [c for c in api.calls if c.label == "other"]
    assert [c.at for c in others] == [asked] * 4
    assert (api.calls[0].label, api.calls[0].at) == ("flood", 0.0)
    assert all(c.at >= 5.0 for c in api.calls[1:] if c.label != "other")


def test_memory_of_chats_stays_bounded_after_ten_thousand_chats() -> None:
    async def main() -> tuple[int, FakeApi]:
        api = make_api()
        most = 0
        for chat_id in range(1, 10_001):
            await api.request(chat_id if chat_id % 10 else -chat_id)
            most = max(most, api.limiter.remembered_chats)
        return most, api

    most, api = run_virtual(main)

    assert len(api.calls) == 10_000
    # A group is remembered for a minute after its last message (30/s, one in ten: 180), a
    # private chat for a second (30); sweeping each time the memory doubles allows twice that.
    assert most <= 2 * (180 + 30)


def test_memory_of_sends_holds_the_last_second_even_with_the_limits_off() -> None:
    # "Limits off" is a limit of a million a second: a window of a million sends would be 60 MB.
    huge = 10**6
    unlimited = Limits(per_second=huge, per_chat_per_second=huge, per_group_per_minute=huge)

    async def main() -> tuple[int, FakeApi]:
        api = make_api(unlimited)
        most = 0
        for chat_id in range(1, 5001):
            await asyncio.sleep(0.001)
            await api.request(chat_id)
            most = max(most, api.limiter.remembered_sends)
        return most, api

    most, api = run_virtual(main)

    assert len(api.calls) == 5000
    # A thousand a second for five seconds: the window holds the last second's and a little.
    assert most <= 1002


@settings(max_examples=60, deadline=None)
@given(
    traffic=st.lists(
        st.tuples(
            st.floats(min_value=0.0, max_value=1.5),
            st.sampled_from([1, 2, 3, 4, -10, -20]),
            st.booleans(),
        ),
        min_size=1,
        max_size=60,
    ),
    per_second=st.sampled_from([2, 5, 30]),
)
def test_no_window_telegram_measures_is_ever_overfilled(
    traffic: list[tuple[float, int, bool]], per_second: int
) -> None:
    async def main() -> FakeApi:
        api = make_api(Limits(per_second=per_second, per_group_per_minute=20))

        async def later(delay: float, chat_id: int, low: bool) -> None:
            await asyncio.sleep(delay)
            if low:
                with low_priority():
                    await api.request(chat_id, label="low")
            else:
                await api.request(chat_id, label="high")

        await asyncio.gather(*(later(*request) for request in traffic))
        return api

    api = run_virtual(main)

    assert len(api.calls) == len(traffic)
    assert most_in_any_window(api.times(), 1.0) <= per_second
    for chat_id in {chat_id for _, chat_id, _ in traffic}:
        calls = [c for c in api.calls if c.chat_id == chat_id]
        times = [c.at for c in calls]
        for before, after in itertools.pairwise(calls):
            if after.label == "low":
                assert after.at - before.at > 1.0
        assert most_in_any_window(times, 1.0) <= REPLY_BURST
        assert most_in_any_window(times, 10.0) <= 9 + REPLY_BURST
        if chat_id < 0:
            assert most_in_any_window(times, 60.0) <= 20


def test_the_limiter_fails_waiting_requests_when_shut_down() -> None:
    async def main() -> FakeApi:
        api = make_api()
        api.watch_for = 1
        waiting = [asyncio.create_task(api.request(7)) for _ in range(3)]
        await api.reached.wait()
        await api.limiter.shutdown()
        results = await asyncio.gather(*waiting, return_exceptions=True)
        assert [type(r) for r in results] == [bool, RuntimeError, RuntimeError]
        return api

    assert len(run_virtual(main).calls) == 1


def strict_emulator() -> BotApiEmulator:
    return BotApiEmulator(
        TEST_TOKEN,
        rate_limits=RateLimits(per_second=30, per_chat_per_second=1, per_group_per_minute=20),
    )


@pytest.mark.parametrize("stall", [0.0, 0.3], ids=["steady", "stalled"])
async def test_a_fan_out_through_strict_windows_draws_no_429_and_reaches_everyone(
    stall: float,
) -> None:
    # Stalled: Telegram answers nothing for 0.3 s, then counts the sends that waited all at
    # once; the sends a second after them must wait for them too.
    async with strict_emulator() as emulator:
        users = [emulator.user(2000 + n) for n in range(75)]
        bot = ExtBot(
            TEST_TOKEN,
            base_url=emulator.base_url,
            request=AiohttpRequest(CONNECTION_POOL_SIZE),
            rate_limiter=SmoothRateLimiter(
                Limits(per_second=30), connections=CONNECTION_POOL_SIZE
            ),
        )
        async with bot:
            with low_priority():
                digest = asyncio.gather(*(bot.send_message(u.id, f"digest {u.id}") for u in users))
            if stall:
                await emulator.wait_for_message(users[10])
                emulator.stall(stall)
            await digest

    assert emulator.stats.too_many_requests == 0
    assert all([m.text for m in emulator.messages(u.id)] == [f"digest {u.id}"] for u in users)


async def test_an_injected_429_is_honoured_and_the_message_arrives_once() -> None:
    async with strict_emulator() as emulator:
        user = emulator.user(42)
        emulator.fail("sendMessage", ApiError.too_many_requests(1))
        bot = ExtBot(
            TEST_TOKEN, base_url=emulator.base_url, rate_limiter=SmoothRateLimiter(Limits())
        )
        async with bot:
            with pytest.warns(PTBDeprecationWarning, match="retry_after"):
                await bot.send_message(user.id, "hello")

    assert emulator.stats.too_many_requests == 1
    assert len(emulator.calls_to("sendMessage")) == 2
    assert [m.text for m in emulator.messages(user.id)] == ["hello"]


async def test_a_command_reply_overtakes_a_running_fan_out(running: Running) -> None:
    subscribers = [running.emulator.user(3000 + n) for n in range(75)]
    chat = running.chat()
    bot = running.app.bot
    with low_priority():
        digest = asyncio.gather(*(bot.send_message(u.id, "digest") for u in subscribers))

    reply = await chat.send("/start")
    delivered_before_reply = sum(1 for u in subscribers if running.emulator.messages(u.id))
    await digest

    assert reply.text
    assert delivered_before_reply < len(subscribers)
