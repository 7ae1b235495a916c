"""A translation being written from Telegram (/translate), and how its preview shows it.

The draft names the item, the language and the field, then takes the text and its origin (our
own translation, or the wording of a source in that language); it becomes a ``Translation``
only on Confirm. The preview shows the field in English, as it stands in that language and as
it will, then the item as that language's readers will see it, † and all.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from babel import Locale

from bot import rendering
from bot.curation.content import KINDS, Kind
from bot.curation.fact_forms import clean
from bot.reader.dates import babel_locale
from bot.reader.wording import KIND_OF, TITLE_OF, Worded, Wording
from bot.texts import Html, Texts, join, shorten, texts_for
from storage.knowledge import Knowledge
from storage.models import Role, Source, Topic, Translation, utcnow
from storage.translations import Seen, Wanted

# The kinds that have words to translate, by the noun a translation stores.
TRANSLATABLE: dict[str, Kind] = {kind.noun: kind for kind in KINDS if kind.translated}


@dataclass
class Draft:
    """A translation under way: what it translates, then its words and where they come from."""

    kind: str
    item_id: str
    language: str = ""
    field: str = ""
    text: str = ""
    # The source whose wording it is; None for our own translation.
    source_id: str | None = None
    # The translation as the admin was shown it when asked for the text.
    seen: Seen = None

    @property
    def wanted(self) -> Wanted:
        return Wanted(self.kind, self.item_id, self.field, self.language)


class TextError(Exception):
    """A text that will not do; ``message`` says why, for the admin."""

    def __init__(self, message: Callable[[Texts], Html]) -> None:
        super().__init__("a translation's text that will not do")
        self.message = message


def items(known: Knowledge) -> list[Worded]:
    """Everything shown that has words to translate, in the order /translate offers them."""
    return [
        *known.topics,
        *known.facts,
        *known.people,
        *known.roles,
        *known.facilities,
        *known.events,
        *known.agreements,
    ]


def named(known: Knowledge, item_id: str) -> list[Worded]:
    """The items with this id (a fact and an event may share one)."""
    return [item for item in items(known) if item.id == item_id]


def unknown(t: Texts, known: Knowledge, item_id: str) -> Html:
    """No such item: the closest ids, if some are close."""
    ids = sorted({item.id for item in items(known)})
    close = ", ".join(difflib.get_close_matches(item_id, ids, n=CLOSE, cutoff=0.5))
    if close:
        return t("admin_translations.unknown_close", id=item_id, ids=close)
    return t("admin_translations.unknown", id=item_id)


def item_of(known: Knowledge, kind: str, item_id: str) -> Worded | None:
    return next((item for item in named(known, item_id) if KIND_OF[type(item)] == kind), None)


def fields_of(item: Worded) -> list[str]:
    """The fields of the item that have English words to translate."""
    kind = TRANSLATABLE[KIND_OF[type(item)]]
    return [name for name in kind.translated if getattr(item, name) is not None]


# Button labels are cut here.
LABEL = 48
# Close ids suggested for an unknown one.
CLOSE = 3


def shown(t: Texts, draft: Draft) -> dict[str, object]:
    """What the flow's messages say of the draft: its item, field and language."""
    return {
        "kind": draft.kind,
        "id": draft.item_id,
        "field": draft.field,
        "language": language_name(t, draft.language),
    }


def title_of(item: Worded) -> str:
    """What names the item, in English: the curated base the admin translates from."""
    return str(getattr(item, TITLE_OF[type(item)]))


def label(text: str) -> str:
    return shorten(text, LABEL)


def kind_label(t: Texts, item: Worded) -> str:
    """An item's button where several share its id: its kind, then what names it."""
    return label(
        t("admin_translations.kind_choice", kind=KIND_OF[type(item)], title=title_of(item))
    )


def field_question(t: Texts, known: Knowledge, item: Worded, draft: Draft) -> Html:
    """Which field: each, in English and as it stands in the draft's language."""
    return t(
        "admin_translations.ask_field",
        fields=fields_view(t, known, item, draft.language),
        **shown(t, draft),
    )


def text_question(t: Texts, item: Worded, draft: Draft, now: Translation | None) -> Html:
    """The text to send: its limit, the field in English, and as it stands."""
    return t(
        "admin_translations.ask_text",
        limit=limit_of(draft.kind, draft.field),
        english=getattr(item, draft.field),
        state=state(t, now),
        **shown(t, draft),
    )


def field_label(known: Knowledge, item: Worded, field: str, language: str) -> str:
    """A field's button: its name, ticked if it is translated into the language already."""
    done = known.translation(KIND_OF[type(item)], item.id, field, language) is not None
    return f"{field} ✓" if done else field


def limit_of(kind: str, field: str) -> int:
    return next(f.limit for f in TRANSLATABLE[kind].fields if f.name == field)


def checked_text(draft: Draft, typed: str) -> str:
    """The typed text, cleaned and within the field's content limit; TextError otherwise."""
    text = clean(typed, multiline=True)
    limit = limit_of(draft.kind, draft.field)
    if not text:
        raise TextError(lambda t: t("admin_translations.empty"))
    if len(text) > limit:
        length = len(text)
        raise TextError(lambda t: t("admin_translations.too_long", length=length, limit=limit))
    return text


def sources_in(known: Knowledge, language: str) -> list[Source]:
    """The sources in a language, by id: those a translation into it may follow."""
    return sorted(
        (source for source in known.sources.values() if source.language == language),
        key=lambda source: source.id,
    )


def language_name(t: Texts, language: str) -> str:
    """A language as the admin reads its name: "Russian", "казахский"."""
    name: str = Locale.parse(babel_locale(t.language)).languages.get(language, language)
    return name


def state(t: Texts, found: Translation | None) -> Html:
    """How a field stands in a language: not translated, ours, or a source's wording."""
    if found is None:
        return t("admin_translations.state_none")
    if found.source_id is None:
        return t("admin_translations.state_ours", text=found.text)
    return t("admin_translations.state_source", source=found.source_id, text=found.text)


def fields_view(t: Texts, known: Knowledge, item: Worded, language: str) -> Html:
    """Each field of the item: in English, and as it stands in the language."""
    kind = KIND_OF[type(item)]
    lines = [
        t(
            "admin_translations.field_line",
            field=name,
            english=getattr(item, name),
            state=state(t, known.translation(kind, item.id, name, language)),
        )
        for name in fields_of(item)
    ]
    return join(lines)


def with_draft(known: Knowledge, draft: Draft, *, now: datetime | None = None) -> Knowledge:
    """The knowledge as it will be once the draft is saved."""
    row = Translation(
        kind=draft.kind,
        item_id=draft.item_id,
        field=draft.field,
        language=draft.language,
        text=draft.text,
        source_id=draft.source_id,
        origin="admin",
        updated_at=now or utcnow(),
    )
    key = (draft.kind, draft.item_id, draft.field, draft.language)
    return dataclasses.replace(known, translations={**known.translations, key: row})


def preview(t: Texts, known: Knowledge, draft: Draft) -> Html:
    """The field in English, now and after, its origin, and the item as its readers will see
    it in that language."""
    item = item_of(known, draft.kind, draft.item_id)
    if item is None:
        raise LookupError(f"{draft.kind} {draft.item_id} is no longer shown")
    before = known.translation(draft.kind, draft.item_id, draft.field, draft.language)
    origin = (
        t("admin_translations.origin_ours")
        if draft.source_id is None
        else t("admin_translations.origin_source", source=draft.source_id)
    )
    return t(
        "admin_translations.preview",
        kind=draft.kind,
        id=draft.item_id,
        field=draft.field,
        language=language_name(t, draft.language),
        english=getattr(item, draft.field),
        before=before.text if before else "—",
        after=draft.text,
        origin=origin,
        view=readers_view(with_draft(known, draft), draft.language, item),
    )


def readers_view(known: Knowledge, language: str, item: Worded) -> Html:
    """An item as readers in ``language`` see it, with the note on our translations."""
    w = Wording(texts_for(language), known)
    if isinstance(item, Topic):
        return w.below(w(item, "title"))
    if isinstance(item, Role):
        return w.below(rendering.role_text(w, item))
    return rendering.card(w, item)
