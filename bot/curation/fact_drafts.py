"""A fact being added or changed from Telegram, and how its preview shows it.

The draft is what /addfact and /editfact fill in, step by step or from one line; it becomes a
``Fact`` only on Confirm. Its views are the ones users see (/facts), so a preview is exactly
what will be shown, plus the curator's own field list.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot import rendering
from bot.curation import fact_forms
from bot.curation.fact_forms import FormError, SourceChoice
from bot.reader.wording import Wording
from bot.texts import Html, Texts
from storage import curation
from storage.knowledge import Knowledge
from storage.models import Fact, Source, Topic


@dataclass
class Draft:
    """A fact being added (``before`` is None) or changed, until it is confirmed."""

    fact_id: str = ""
    topic: Topic | None = None
    title: str = ""
    text: str = ""
    source: SourceChoice | None = None
    # For an edit: the fact as shown, whose version the change is made on, and what changes.
    before: Fact | None = None
    field: str = ""

    def fact(self) -> Fact:
        """The fact as it will be saved."""
        if self.topic is None or self.source is None:
            raise ValueError("a fact draft is previewed only once it has a topic and a source")
        return Fact(
            id=self.fact_id,
            topic=self.topic.id,
            title=self.title,
            text=self.text,
            source_id=self.source.source.id,
        )


async def stored(session: AsyncSession, fact_id: str) -> Fact:
    """The fact, deleted or not; FormError naming the closest ids for an unknown one."""
    try:
        found: Fact = await curation.get(session, "fact", fact_id)
    except curation.NotFound:
        taken = await curation.ids(session, "fact")
        close = difflib.get_close_matches(fact_id, taken, n=3, cutoff=0.5)
        shown, ids = fact_forms.echo(fact_id), ", ".join(close)
        if close:
            raise FormError(
                lambda t: t("admin_facts.unknown_id_close", id=shown, ids=ids)
            ) from None
        raise FormError(lambda t: t("admin_facts.unknown_id", id=shown)) from None
    return found


async def assign_ids(session: AsyncSession, draft: Draft) -> None:
    """Ids for a new fact, and for a new source it cites, from their titles: never one that is
    or was in use."""
    draft.fact_id = fact_forms.unique_id(
        fact_forms.slug(draft.title), await curation.ids(session, "fact")
    )
    if draft.source is not None and draft.source.new:
        cited = draft.source.source
        base = fact_forms.slug(cited.title, fallback="source")
        cited.id = fact_forms.unique_id(base, await curation.ids(session, "source"))


async def save(session: AsyncSession, draft: Draft, *, admin_id: int, now: datetime) -> None:
    """Write a confirmed draft, with the new source it cites, in the caller's transaction."""
    item = draft.fact()
    if draft.source is not None and draft.source.new:
        cited = draft.source.source
        names = ("id", "title", "publisher", "published", "cited", "url")
        values = {name: getattr(cited, name) for name in names}
        await curation.add(session, "source", values, admin_id=admin_id, now=now)
    if draft.before is None:
        columns = ("id", "topic", "title", "text", "source_id")
        values = {column: getattr(item, column) for column in columns}
        await curation.add(session, "fact", values, admin_id=admin_id, now=now)
        return
    name = "source_id" if draft.field == "source" else draft.field
    await curation.edit(
        session,
        "fact",
        draft.fact_id,
        {name: getattr(item, name)},
        seen_version=draft.before.version,
        admin_id=admin_id,
        now=now,
    )


def value(item: Fact, name: str) -> str:
    """A field as /editfact names it."""
    found: str = getattr(item, "source_id" if name == "source" else name)
    return found


def source(known: Knowledge, typed: str, *, today: date) -> SourceChoice:
    """The source a curator named: a known id, or a web address that makes a new one."""
    return fact_forms.source(known, typed, today=today, taken=known.sources)


def one_line_draft(known: Knowledge, typed: str, *, today: date) -> Draft:
    """The draft of ``topic | title | text | source``; FormError if a part will not do."""
    form = fact_forms.one_line(typed)
    return Draft(
        topic=fact_forms.topic(known, form.topic),
        title=fact_forms.check("title", form.title),
        text=fact_forms.check("text", form.text),
        source=source(known, form.source, today=today),
    )


def edit_draft(known: Knowledge, fact: Fact, name: str, typed: str, *, today: date) -> Draft:
    """The draft of changing one field of ``fact``; FormError if the value will not do."""
    topic = next((item for item in known.topics if item.id == fact.topic), None)
    cited = known.sources.get(fact.source_id)
    if topic is None or cited is None:
        raise ValueError(f"fact {fact.id} refers to a topic or source the knowledge lacks")
    draft = Draft(
        fact_id=fact.id,
        topic=topic,
        title=fact.title,
        text=fact.text,
        source=SourceChoice(cited, new=False),
        before=fact,
        field=name,
    )
    if name == "topic":
        draft.topic = fact_forms.topic(known, typed)
    elif name == "source":
        draft.source = source(known, typed, today=today)
    else:
        setattr(draft, name, fact_forms.check(name, typed))
    return draft


def preview(t: Texts, known: Knowledge, draft: Draft) -> Html:
    """The draft as /facts will show it; for an edit, the field before → after."""
    if draft.source is None:
        raise ValueError("a fact draft is previewed only once it has a source")
    view = _view(t, known, draft.fact(), draft.source.source)
    note = _new_source_note(t, draft.source)
    if draft.before is None:
        return t("admin_facts.preview_add", id=draft.fact_id, view=view, new_source=note)
    return t(
        "admin_facts.preview_edit",
        id=draft.fact_id,
        field=draft.field,
        before=value(draft.before, draft.field),
        after=value(draft.fact(), draft.field),
        view=view,
        new_source=note,
    )


def fields_view(t: Texts, fact: Fact) -> Html:
    """Each field as it stands, in the form /editfact takes."""
    return t(
        "admin_facts.fields",
        id=fact.id,
        state=t("admin_facts.deleted_mark") if fact.deleted_at else Html(""),
        topic=fact.topic,
        title=fact.title,
        text=fact.text,
        source=fact.source_id,
    )


def _view(t: Texts, known: Knowledge, item: Fact, cited: Source) -> Html:
    """The fact exactly as /facts shows it."""
    topic = next((topic for topic in known.topics if topic.id == item.topic), None)
    return t(
        "facts.page",
        topic=topic.title if topic else item.topic,
        paging=Html(""),
        facts=rendering.fact(Wording.curated(t), item),
        sources=rendering.source_line(t, [cited], language=t.language),
    )


def _new_source_note(t: Texts, choice: SourceChoice) -> Html:
    if not choice.new:
        return Html("")
    cited = choice.source
    return t(
        "admin_facts.new_source",
        id=cited.id,
        title=cited.title,
        publisher=cited.publisher,
        cited=cited.cited.isoformat() if cited.cited else "",
    )
