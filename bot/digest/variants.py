"""A digest in its readers' languages and zones: rendered once per pair, not once per chat.

Planning gives each digest one way to render it (``Render``: the texts of a language and a
reader's zone in, the words out). Its deliveries are written first, each recording its chat's
language and zone (storage/digests.py ``fill``); then the distinct pairs among them are read
back and the digest rendered once for each (storage/digest_texts.py), in the same transaction.
The digest's own text, English in the bot's zone, is what a chat with no match gets.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.digest.engine import Engine
from bot.reader.dates import readable
from bot.texts import DEFAULT_LANGUAGE, Texts, texts_for
from storage import digest_texts, digests

# The words of a digest for readers of one language, in one zone (an IANA name).
Render = Callable[[Texts, str], str]


def own_text(engine: Engine, render: Render) -> str:
    """The digest's own text: English, in the bot's zone."""
    return render(texts_for(None), engine.zone.key)


async def fill(
    session: AsyncSession,
    engine: Engine,
    key: str,
    audience: digests.Audience,
    *,
    render: Render,
    text: str,
    now: datetime,
    readers: Sequence[digests.Readers] | None = None,
) -> None:
    """The digest's deliveries to the audience and the channel, then its words in each of
    their languages and zones; ``text`` is its own text, already rendered.

    Given ``readers`` (a reminder of a day: at 09:00 in each zone), one statement per zone,
    the bot's own zone last: its readers are every chat not filled before.
    """
    default = engine.zone.key
    zones: list[digests.Readers | None] = [None]
    if readers is not None:
        zones = [*sorted(readers, key=lambda each: each.zone == default)]
    for zone in zones:
        await digests.fill(
            session,
            digest_id=key,
            audience=audience,
            channel_id=engine.settings.channel_id,
            now=now,
            zone=default,
            readers=zone,
        )
    await write(session, engine, key, render=render, text=text)


async def write(
    session: AsyncSession, engine: Engine, key: str, *, render: Render, text: str
) -> None:
    """The digest's words for each (language, zone) its pending deliveries read in."""
    own = (DEFAULT_LANGUAGE, engine.zone.key)
    texts = {
        (language, zone): text if (language, zone) == own else render(texts_for(language), zone)
        for language, zone in await digest_texts.reader_pairs(session, digest_id=key)
        # A zone the bot cannot read: the chat gets the digest's own text.
        if readable(zone)
    }
    await digest_texts.write_texts(session, digest_id=key, texts=texts)
