"""/subscribe, /settings and /unsubscribe, in private chats and groups, through the emulator."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from storage.bot_models import Chat, Subscription
from tests.conftest import DEFAULT_NOW, Running, both_ways


async def subscription(running: Running, chat_id: int) -> Subscription | None:
    async with running.sessions() as session:
        return await session.get(Subscription, chat_id)


@both_ways
async def test_subscribe_with_defaults_and_see_what_can_change(running: Running) -> None:
    reply = await running.chat().send("/subscribe")
    assert reply.text.startswith("🔔 Subscribed.")
    assert "Event reminders: on, 7 days, 1 day and 1 hour before each event" in reply.text
    assert "next on Monday 30 November, 09:00 (Asia/Almaty)" in reply.text
    assert reply.button_labels == [
        "✅ Event reminders",
        "✅ Summary",
        "✅ 7d",
        "✅ 1d",
        "✅ 1h",
        "🔕 Unsubscribe",
        "✅ Almaty · Astana",
        "Moscow · Dubna",
        "UTC",
    ]
    saved = await subscription(running, 1001)
    assert saved is not None
    assert (saved.events, saved.news, saved.lead_times) == (True, True, None)
    # Stamped by the bot's clock (the test's), not the machine's.
    assert saved.created_at == saved.updated_at == DEFAULT_NOW
    again = await running.chat().send("/subscribe")
    assert again.text.startswith("🔔 This chat is already subscribed.")


async def test_settings_buttons_change_what_is_stored(running: Running) -> None:
    chat = running.chat()
    shown = await chat.send("/subscribe")
    running.clock.advance(timedelta(minutes=5))
    shown = await chat.press(shown, "✅ 7d")
    assert "✅ 7d" not in shown.button_labels
    assert "1 day and 1 hour before" in shown.text
    shown = await chat.press(shown, "✅ Summary")
    assert "Summary of what is new and coming: off" in shown.text
    saved = await subscription(running, 1001)
    assert saved is not None
    assert (saved.news, saved.lead_times) == (False, "1d,1h")
    assert saved.updated_at == running.clock.now()

    shown = await chat.press(shown, "▫️ 7d")
    saved = await subscription(running, 1001)
    assert saved is not None
    assert saved.lead_times is None
    assert running.emulator.unanswered_callbacks() == []


async def test_unsubscribe_stops_digests_and_settings_say_so(running: Running) -> None:
    chat = running.chat()
    shown = await chat.send("/subscribe")
    gone = await chat.press(shown, "🔕 Unsubscribe")
    assert gone.text.startswith("🔕 Unsubscribed.")
    kept = await subscription(running, 1001)
    assert kept is not None
    assert not kept.active
    assert "gets no digests" in (await chat.send("/settings")).text
    assert "was not subscribed" in (await chat.send("/unsubscribe")).text
    await chat.send("/subscribe")
    assert (await chat.send("/unsubscribe")).text.startswith("🔕 Unsubscribed.")


async def test_subscribing_again_keeps_the_settings_chosen_before(running: Running) -> None:
    chat = running.chat()
    shown = await chat.send("/subscribe")
    shown = await chat.press(shown, "✅ 7d")
    await chat.press(shown, "✅ Summary")
    await chat.send("/unsubscribe")
    assert "gets no digests" in (await chat.send("/settings")).text
    again = await chat.send("/subscribe")
    assert again.text.startswith("🔔 Subscribed again, with the settings this chat had before.")
    assert "Summary of what is new and coming: off" in again.text
    assert "1 day and 1 hour before" in again.text
    saved = await subscription(running, 1001)
    assert saved is not None
    assert (saved.active, saved.news, saved.lead_times) == (True, False, "1d,1h")


async def test_with_every_lead_time_off_reminders_read_off_everywhere(running: Running) -> None:
    chat = running.chat()
    shown = await chat.send("/subscribe")
    for lead in ("7d", "1d", "1h"):
        shown = await chat.press(shown, f"✅ {lead}")
    assert "Event reminders: off" in shown.text
    assert "▫️ Event reminders" in shown.button_labels, "the button says what the text says"
    assert "Event reminders are off here" in (await chat.send("/digest")).text
    # Turning reminders on again brings every lead time back.
    shown = await chat.press(shown, "▫️ Event reminders")
    assert "Event reminders: on, 7 days, 1 day and 1 hour before each event" in shown.text
    assert "✅ Event reminders" in shown.button_labels


async def test_deep_link_subscribes(running: Running) -> None:
    reply = await running.chat().send("/start subscribe")
    assert reply.text.startswith("🔔 Subscribed.")


async def test_a_chat_that_had_left_is_active_again_when_it_subscribes(running: Running) -> None:
    chat = running.chat()
    await chat.send("/subscribe")
    async with running.sessions.begin() as session:
        await session.execute(update(Chat).where(Chat.id == 1001).values(active=False))
    await chat.send("/subscribe")
    async with running.sessions() as session:
        assert await session.scalar(select(Chat.active).where(Chat.id == 1001)) is True


async def test_only_a_groups_admins_change_its_subscription(running: Running) -> None:
    admin = running.user(1, "Admin")
    member = running.user(2, "Member", username="Admin")
    group = running.emulator.group(-100500, "Lab", admins=[admin.id])

    refused = await running.emulator.group_chat(group, member).send("/subscribe@coop_test_bot")
    assert refused.text == "Only this group's admins can change its digests."
    assert await subscription(running, group.id) is None

    shown = await running.emulator.group_chat(group, admin).send("/subscribe@coop_test_bot")
    assert shown.text.startswith("🔔 Subscribed.")

    tap = running.emulator.press_button(shown, "✅ Summary", member)
    answer = await running.emulator.wait_for_callback_answer(tap)
    assert answer.text == "Only this group's admins can change its digests."
    saved = await subscription(running, group.id)
    assert saved is not None
    assert saved.news is True

    refused = await running.emulator.group_chat(group, member).send("/unsubscribe@coop_test_bot")
    assert "Only this group's admins" in refused.text
    assert await subscription(running, group.id) is not None
