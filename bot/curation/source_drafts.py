"""A source found from a link by /addsource, before and after it is stored.

/addsource fetches the page (bot/curation/fetching.py), reads it (bot/curation/extraction.py)
and keeps what it found here, as the draft its buttons carry: Confirm stores the source, and a
sentence's button stores it too and drafts a fact from that sentence (handlers/admin_facts.py
picks the draft up under the flow's name, so neither handler module knows the other).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import BotData
from bot.curation import fact_forms
from bot.curation.content import LANGUAGES, SHORT
from bot.curation.extraction import Extracted, mentions
from bot.knowledge import refresh
from bot.texts import shorten
from storage import curation
from storage.knowledge import Knowledge, listed
from storage.models import Source

# The flow's name in button data, and the choice of a sentence's button: "f3" drafts a fact
# from the third sentence shown.
FLOW = "src"
SENTENCE = "f"
# Sentences offered, at most: a long page mentions the cooperation in many.
SHOWN_SENTENCES = 8


@dataclass
class SourceDraft:
    """What a page said of itself, and what of it mentions the cooperation."""

    url: str
    title: str
    publisher: str
    published: date | None
    language: str | None
    text: str
    sentences: list[str]
    # Set once the source is stored (after its transaction): a later press finds it stored.
    source_id: str | None = None


def draft_of(url: str, page: Extracted, known: Knowledge) -> SourceDraft:
    """The draft of a source from a page read at `url` (its address after redirects)."""
    sentences = _mentions(page.text, known)[:SHOWN_SENTENCES]
    language = page.language if page.language in LANGUAGES else None
    return SourceDraft(
        url=url,
        title=shorten(page.title or url, SHORT),
        publisher=shorten(page.publisher or "", SHORT),
        published=page.published,
        language=language,
        text=page.text,
        sentences=sentences,
    )


def _mentions(text: str, known: Knowledge) -> list[str]:
    names = [person.name for person in known.people]
    names += [alias for person in known.people for alias in listed(person.aliases)]
    names += [facility.name for facility in known.facilities]
    names += [alias for facility in known.facilities for alias in listed(facility.aliases)]
    return mentions(text, names)


async def keep(data: BotData, draft: SourceDraft, *, admin_id: int, now: datetime) -> Source:
    """Store the draft's source, once, and have the knowledge show it."""
    async with data.sessions.begin() as session:
        source = await store(session, draft, admin_id=admin_id, now=now)
    draft.source_id = source.id
    await refresh(data)
    return source


async def store(
    session: AsyncSession, draft: SourceDraft, *, admin_id: int, now: datetime
) -> Source:
    """Add the source in the caller's transaction; a draft stored already gives the stored
    source back. The caller sets ``source_id`` once the transaction has committed."""
    if draft.source_id is not None:
        found: Source = await curation.get(session, "source", draft.source_id)
        return found
    taken = await curation.ids(session, "source")
    source_id = fact_forms.unique_id(fact_forms.slug(draft.title, fallback="source"), taken)
    values = {
        "id": source_id,
        "title": draft.title,
        "publisher": draft.publisher,
        "published": draft.published,
        "cited": now.date(),
        "url": draft.url,
        "file": f"sources/{source_id}.txt",
        "language": draft.language,
        "text": draft.text,
    }
    await curation.add(session, "source", values, admin_id=admin_id, now=now)
    added: Source = await curation.get(session, "source", source_id)
    return added
