"""The Bot API emulator, driven by the real PTB stack over HTTP, and its Telegram HTML parser."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    RetryAfter,
)
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBDeprecationWarning

from bot.emulator import ApiError, BotApiEmulator, Button, RateLimits
from bot.emulator.telegram_html import TelegramHtmlError, parse, trim, utf16_length

TOKEN = "123456:emulator-test-token"
POLL_SECONDS = 1


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(TOKEN) as emulator:
        yield emulator


@pytest.fixture
async def bot(emulator: BotApiEmulator) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=emulator.base_url, base_file_url=emulator.base_file_url) as bot:
        yield bot


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None
    await update.message.reply_text(f"echo: <b>{update.message.text}</b>", parse_mode="HTML")


async def show_pages(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Next ›", callback_data="page:2")]])
    await update.message.reply_text("page 1", reply_markup=keyboard)


async def turn_page(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    assert query.data is not None
    await query.answer()
    await query.edit_message_text(f"page {query.data.removeprefix('page:')}")


@asynccontextmanager
async def polling_app(emulator: BotApiEmulator) -> AsyncIterator[None]:
    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(emulator.base_url)
        .base_file_url(emulator.base_file_url)
        .build()
    )
    app.add_handlers(
        [
            CommandHandler("pages", show_pages),
            CallbackQueryHandler(turn_page, pattern=r"^page:"),
            MessageHandler(filters.TEXT, echo),
        ]
    )
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=POLL_SECONDS)
    try:
        yield
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


async def test_get_me_describes_the_bot(bot: Bot) -> None:
    me = await bot.get_me()

    assert (me.id, me.username, me.is_bot) == (123456, "coop_test_bot", True)


async def test_a_wrong_token_is_unauthorized(emulator: BotApiEmulator) -> None:
    stranger = Bot("999:wrong", base_url=emulator.base_url)

    with pytest.raises(InvalidToken):
        await stranger.initialize()
    await stranger.shutdown()

    assert emulator.stats.errors[401] == 1


async def test_an_unknown_method_is_not_found(emulator: BotApiEmulator, bot: Bot) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("sendTelepathy", api_kwargs={"chat_id": 1})

    assert emulator.stats.unknown_methods == {"sendTelepathy": 1}


async def test_a_long_poll_returns_as_soon_as_an_update_arrives(
    emulator: BotApiEmulator, bot: Bot
) -> None:
    user = emulator.user(42)
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await emulator.wait_for_call("getUpdates")

    update_id = emulator.send_message(user.id, user, "hello")
    async with asyncio.timeout(2):
        updates = await poll

    assert [(u.update_id, u.message and u.message.text) for u in updates] == [(update_id, "hello")]


async def test_confirmed_updates_are_dropped_for_good(emulator: BotApiEmulator, bot: Bot) -> None:
    user = emulator.user(42)
    first = emulator.send_message(user.id, user, "one")
    second = emulator.send_message(user.id, user, "two")

    assert [u.update_id for u in await bot.get_updates(timeout=0)] == [first, second]
    assert [u.update_id for u in await bot.get_updates(offset=first + 1, limit=1)] == [second]
    assert emulator.pending_updates == 1
    assert await bot.get_updates(offset=second + 1, timeout=0) == ()
    assert emulator.pending_updates == 0


async def test_updates_of_kinds_not_allowed_are_never_created(
    emulator: BotApiEmulator, bot: Bot
) -> None:
    user = emulator.user(42)
    await bot.get_updates(timeout=0, allowed_updates=["callback_query"])

    emulator.send_message(user.id, user, "ignored")

    assert emulator.pending_updates == 0


async def test_a_second_poller_terminates_the_first_with_a_conflict(
    emulator: BotApiEmulator, bot: Bot
) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=30))
    await emulator.wait_for_call("getUpdates")

    async with Bot(TOKEN, base_url=emulator.base_url) as second_instance:
        await second_instance.get_updates(timeout=0)

    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await first


async def test_stopping_answers_pending_long_polls_with_no_updates(
    emulator: BotApiEmulator, bot: Bot
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await emulator.wait_for_call("getUpdates")

    await emulator.stop()

    async with asyncio.timeout(2):
        assert await poll == ()


async def test_a_polling_application_answers_each_message(emulator: BotApiEmulator) -> None:
    chat = emulator.private_chat(emulator.user(42, "Ada"))

    async with polling_app(emulator):
        first = await chat.send("hello")
        second = await chat.send("again")

    assert (first.text, second.text) == ("echo: hello", "echo: again")
    assert first.entities == [{"type": "bold", "offset": 6, "length": 5}]
    assert first.html == "echo: <b>hello</b>"
    assert [m.message_id for m in chat.messages] == [2, 4]


async def test_a_pressed_button_reaches_the_callback_handler(emulator: BotApiEmulator) -> None:
    chat = emulator.private_chat(emulator.user(42))

    async with polling_app(emulator):
        menu = await chat.send("/pages")
        turned = await chat.press(menu, "Next ›")
        answer = await emulator.wait_for_callback_answer(chat.presses[0])

    assert menu.buttons == ((Button("Next ›", callback_data="page:2"),),)
    assert (turned.message_id, turned.text, turned.edits) == (menu.message_id, "page 2", 1)
    assert turned.buttons == ()
    assert answer.text is None
    assert emulator.unanswered_callbacks() == []


async def test_a_command_carries_its_bot_command_entity(
    emulator: BotApiEmulator, bot: Bot
) -> None:
    group = emulator.group(-100, "Lab")
    user = emulator.user(42)
    emulator.send_message(group, user, "/start@coop_test_bot now")

    (update,) = await bot.get_updates(timeout=0)

    assert update.message is not None
    assert update.message.parse_entities() == {update.message.entities[0]: "/start@coop_test_bot"}
    assert update.message.chat.type == "supergroup"


async def test_pressing_a_button_the_message_lacks_fails_in_the_test(
    emulator: BotApiEmulator, bot: Bot
) -> None:
    user = emulator.user(42)
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Site", url="https://jinr.ru")]])
    await bot.send_message(user.id, "menu", reply_markup=keyboard)
    (menu,) = emulator.messages(user.id)

    with pytest.raises(LookupError, match="no button 'Next'"):
        emulator.press_button(menu, "Next", user)
    with pytest.raises(LookupError, match="sends no callback"):
        emulator.press_button(menu, "Site", user)


async def test_sent_html_comes_back_as_text_and_entities(
    emulator: BotApiEmulator, bot: Bot
) -> None:
    user = emulator.user(42)

    message = await bot.send_message(
        user.id, '😀 <b>Dubna <a href="https://jinr.ru">JINR</a></b>', parse_mode=ParseMode.HTML
    )

    assert message.text == "😀 Dubna JINR"
    assert message.parse_entities() == {
        message.entities[0]: "Dubna JINR",
        message.entities[1]: "JINR",
    }
    assert message.entities[1].url == "https://jinr.ru/"
    assert message.from_user is not None
    assert message.from_user.is_bot


# PTB strips "Bad Request: " and capitalize()s the rest, lowercasing it, hence (?i) below.
async def test_bad_html_is_refused_like_telegram(emulator: BotApiEmulator, bot: Bot) -> None:
    user = emulator.user(42)

    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(user.id, "line<br>line", parse_mode=ParseMode.HTML)

    assert emulator.messages(user.id) == []
    assert emulator.calls[-1].error == (
        'Bad Request: can\'t parse entities: Unsupported start tag "br" at byte offset 4'
    )


async def test_text_longer_than_4096_utf16_units_is_too_long(
    emulator: BotApiEmulator, bot: Bot
) -> None:
    user = emulator.user(42)
    await bot.send_message(user.id, "😀" * 2048)

    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(user.id, "😀" * 2048 + "!")


async def test_blank_text_is_empty(emulator: BotApiEmulator, bot: Bot) -> None:
    user = emulator.user(42)

    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(user.id, "<b> </b>\n", parse_mode=ParseMode.HTML)


async def test_callback_data_over_64_bytes_is_refused(emulator: BotApiEmulator, bot: Bot) -> None:
    user = emulator.user(42)

    def keyboard(data: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data=data)]])

    await bot.send_message(user.id, "fits", reply_markup=keyboard("é" * 32))
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(user.id, "too long", reply_markup=keyboard("é" * 32 + "x"))


async def test_an_identical_edit_is_not_modified(emulator: BotApiEmulator, bot: Bot) -> None:
    user = emulator.user(42)
    sent = await bot.send_message(user.id, "<b>same</b>", parse_mode=ParseMode.HTML)

    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text(
            "<strong>same</strong>", user.id, sent.message_id, parse_mode="HTML"
        )
    edited = await bot.edit_message_text("changed", user.id, sent.message_id)

    assert isinstance(edited, type(sent))
    assert edited.edit_date is not None
    assert [m.text for m in emulator.history(user.id)] == ["same", "changed"]


async def test_editing_a_missing_message_is_refused(emulator: BotApiEmulator, bot: Bot) -> None:
    user = emulator.user(42)

    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("text", user.id, 99)


async def test_a_deleted_message_is_gone(emulator: BotApiEmulator, bot: Bot) -> None:
    user = emulator.user(42)
    sent = await bot.send_message(user.id, "soon gone")

    assert await bot.delete_message(user.id, sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(user.id, sent.message_id)

    assert emulator.messages(user) == []


async def test_a_late_answer_comes_after_the_call_was_done(
    emulator: BotApiEmulator, bot: Bot
) -> None:
    user = emulator.user(42)
    emulator.answer_late("sendMessage", 0.5)
    sending = asyncio.create_task(bot.send_message(user.id, "hi"))
    message = await emulator.wait_for_message(user.id)
    assert message.text == "hi"
    assert not sending.done()
    assert (await sending).message_id == message.message_id


async def test_an_injected_block_raises_forbidden_once(emulator: BotApiEmulator, bot: Bot) -> None:
    user = emulator.user(42)
    emulator.fail("sendMessage", ApiError.blocked(), chat_id=user.id)

    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(user.id, "first")
    await bot.send_message(user.id, "second")

    assert [m.text for m in emulator.messages(user.id)] == ["second"]


async def test_a_fault_for_one_chat_leaves_the_others_alone(
    emulator: BotApiEmulator, bot: Bot
) -> None:
    ada, bob = emulator.user(42), emulator.user(43)
    emulator.fail("sendMessage", ApiError.chat_not_found(), chat_id=bob.id)

    await bot.send_message(ada.id, "fine")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(bob.id, "lost")


async def test_a_blocked_chat_refuses_every_send_until_unblocked(
    emulator: BotApiEmulator, bot: Bot
) -> None:
    user = emulator.user(42)
    emulator.block(user)

    for _ in range(2):
        with pytest.raises(Forbidden):
            await bot.send_message(user.id, "hi")
    emulator.unblock(user)
    await bot.send_message(user.id, "hi")

    assert emulator.stats.errors[403] == 2


async def test_held_sends_arrive_but_are_answered_only_once_released(
    emulator: BotApiEmulator, bot: Bot
) -> None:
    user = emulator.user(7, "Dana")
    emulator.hold("sendMessage")
    sending = asyncio.create_task(bot.send_message(user.id, "held"))
    call = await emulator.wait_for_call("sendMessage")
    assert call.params["text"] == "held"
    assert emulator.history(user.id) == []
    assert await bot.get_me(), "other methods are answered meanwhile"
    emulator.release("sendMessage")
    await sending
    assert [message.text for message in emulator.history(user.id)] == ["held"]


async def test_an_injected_flood_wait_raises_retry_after(
    emulator: BotApiEmulator, bot: Bot
) -> None:
    user = emulator.user(42)
    emulator.fail("sendMessage", ApiError.too_many_requests(7))

    # RetryAfter.__init__ reads its own deprecated retry_after property, so PTB always warns.
    with (
        pytest.warns(PTBDeprecationWarning, match="retry_after"),
        pytest.raises(RetryAfter, match="Retry in 7 seconds"),
    ):
        await bot.send_message(user.id, "hi")

    assert emulator.stats.too_many_requests == 1


async def test_an_injected_migration_raises_chat_migrated(
    emulator: BotApiEmulator, bot: Bot
) -> None:
    group = emulator.group(-5, "Old", supergroup=False)
    emulator.fail("sendMessage", ApiError.migrated(-1005))

    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(group.id, "hi")

    assert caught.value.new_chat_id == -1005


async def test_rate_limits_answer_too_many_requests(emulator: BotApiEmulator) -> None:
    now = [1000.0]
    limited = BotApiEmulator(TOKEN, rate_limits=RateLimits(), clock=lambda: now[0])
    async with limited, Bot(TOKEN, base_url=limited.base_url) as bot:
        user = limited.user(42)
        await bot.send_message(user.id, "one")
        with (
            pytest.warns(PTBDeprecationWarning),
            pytest.raises(RetryAfter, match="Retry in 1 seconds"),
        ):
            await bot.send_message(user.id, "two")
        now[0] += 1.0
        await bot.send_message(user.id, "three")

    assert limited.stats.too_many_requests == 1
    assert [m.text for m in limited.messages(user.id)] == ["one", "three"]


async def test_an_uploaded_document_keeps_its_name_and_bytes(
    emulator: BotApiEmulator, bot: Bot
) -> None:
    user = emulator.user(42)

    sent = await bot.send_document(
        user.id,
        InputFile(b"a,b\n1,2\n", filename="report.csv"),
        caption="<i>Report</i>",
        parse_mode="HTML",
    )
    downloaded = await (await bot.get_file(sent.document.file_id)).download_as_bytearray()  # type: ignore[union-attr]  # the bot sent a document

    (message,) = emulator.messages(user.id)
    assert message.document is not None
    assert (message.document.filename, message.document.content) == ("report.csv", b"a,b\n1,2\n")
    assert (sent.caption, bytes(downloaded)) == ("Report", b"a,b\n1,2\n")


async def test_commands_are_kept_per_scope_and_language(
    emulator: BotApiEmulator, bot: Bot
) -> None:
    await bot.set_my_commands([BotCommand("start", "Start")])
    await bot.set_my_commands([BotCommand("start", "Начать")], language_code="ru")
    private = BotCommandScopeAllPrivateChats()
    await bot.set_my_commands([BotCommand("help", "Help")], scope=private)

    assert emulator.commands() == [("start", "Start")]
    assert emulator.commands(language_code="ru") == [("start", "Начать")]
    assert emulator.commands({"type": "all_private_chats"}) == [("help", "Help")]
    assert [c.command for c in await bot.get_my_commands(scope=private)] == ["help"]
    assert await bot.get_my_commands(scope=BotCommandScopeChat(42)) == ()

    await bot.delete_my_commands(language_code="ru")
    assert emulator.commands(language_code="ru") == []
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("Start", "Capital letters are refused")])


async def test_chat_administrators_come_from_the_group_config(
    emulator: BotApiEmulator, bot: Bot
) -> None:
    admin, member = emulator.user(42, "Ada"), emulator.user(43, "Bob")
    group = emulator.group(-100, "Lab", admins=[admin])

    admins = await bot.get_chat_administrators(group.id)
    member_status = (await bot.get_chat_member(group.id, member.id)).status
    chat = await bot.get_chat(group.id)

    assert [a.user.first_name for a in admins] == ["Ada"]
    assert (member_status, chat.title) == ("member", "Lab")


async def test_waiting_for_a_silent_bot_times_out_with_a_report(emulator: BotApiEmulator) -> None:
    user = emulator.user(42)

    with pytest.raises(TimeoutError, match="no new bot message in chat 42"):
        await emulator.wait_for_message(user.id, timeout=0.05)


def test_nested_tags_give_nested_entities() -> None:
    text, entities = parse("<b>bold <i>both</i></b> <u>under</u> <s>gone</s>")

    assert text == "bold both under gone"
    assert entities == [
        {"type": "bold", "offset": 0, "length": 9},
        {"type": "italic", "offset": 5, "length": 4},
        {"type": "underline", "offset": 10, "length": 5},
        {"type": "strikethrough", "offset": 16, "length": 4},
    ]


def test_offsets_count_utf16_code_units() -> None:
    text, entities = parse("😀😀 <b>ж😀</b>")

    assert utf16_length(text) == 8
    assert entities == [{"type": "bold", "offset": 5, "length": 3}]


def test_pre_with_a_language_and_the_other_tags() -> None:
    html = (
        '<pre><code class="language-python">x = 1</code></pre>'
        '<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler>'
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>'
        "<blockquote expandable>q</blockquote><code>c</code>"
    )

    _, entities = parse(html)

    assert [entity["type"] for entity in entities] == [
        "pre",
        "spoiler",
        "spoiler",
        "custom_emoji",
        "expandable_blockquote",
        "code",
    ]
    assert entities[0]["language"] == "python"
    assert entities[3]["custom_emoji_id"] == "5368324170671202286"


def test_character_references_decode_as_telegram_does() -> None:
    text, _ = parse("a &lt; b &amp;&amp c &quot;&#128512;&#x41; &nbsp; & x")

    assert text == 'a < b && c "😀A &nbsp; & x'


def test_links_are_checked_and_user_links_become_mentions() -> None:
    _, entities = parse(
        '<a href="jinr.ru">site</a> <a href="tg://user?id=42">Ada</a> <a>plain</a> '
        '<a href="javascript:alert(1)">x</a>'
    )

    assert entities == [
        {"type": "text_link", "offset": 0, "length": 4, "url": "http://jinr.ru/"},
        {"type": "text_mention", "offset": 5, "length": 3, "user": {"id": 42}},
    ]


@pytest.mark.parametrize(
    ("html", "message"),
    [
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("ж<br>", 'Unsupported start tag "br" at byte offset 2'),
        ("<b>bold", "Can't find end tag corresponding to start tag b"),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b", "Unclosed start tag at byte offset 0"),
        ('<a href="x', "Unclosed start tag at byte offset 0"),
        ("<b>x</b", "Unclosed end tag at byte offset 4"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("<a href=x'y'>z</a>", "Unexpected end of name token at byte offset 8"),
        ('<tg-emoji emoji-id="abc">x</tg-emoji>', "Invalid custom emoji identifier specified"),
        ("&#xD83D;", "Text contains invalid Unicode characters after decoding HTML entities"),
    ],
)
def test_markup_telegram_refuses_raises_its_error(html: str, message: str) -> None:
    with pytest.raises(TelegramHtmlError) as caught:
        parse(html)

    assert str(caught.value).startswith(message)


def test_trimming_drops_blank_edges_and_blank_entities() -> None:
    text, entities = trim(*parse("\n <b> </b> hi <i>there </i>\n"))

    assert (text, entities) == ("hi there", [{"type": "italic", "offset": 3, "length": 5}])
