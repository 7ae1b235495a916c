"""The record's words in the reader's language: each field's translation where it has one.

English is the curated base, and any field without a translation in the reader's language is
shown in English. A translation that follows a source in that language reads as the record
does; one of ours is marked ("ИБР-2†"), and the message says once, under its sources, what the
mark means. A ``Wording`` is made for one message: it remembers whether it marked anything.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.texts import DEFAULT_LANGUAGE, Html, Texts, escape, join
from storage.knowledge import Knowledge
from storage.models import (
    Agreement,
    Event,
    Facility,
    Fact,
    ItemKind,
    Person,
    Role,
    Topic,
    Translation,
)

Worded = Topic | Fact | Person | Role | Facility | Event | Agreement
# What a translation's row calls each kind of item.
KIND_OF: Mapping[type, str] = {
    Topic: ItemKind.TOPIC,
    Fact: ItemKind.FACT,
    Person: ItemKind.PERSON,
    Role: ItemKind.ROLE,
    Facility: ItemKind.FACILITY,
    Event: ItemKind.EVENT,
    Agreement: ItemKind.AGREEMENT,
}
# The field that names an item, on a button or in a list.
TITLE_OF: Mapping[type, str] = {
    Topic: "title",
    Fact: "title",
    Person: "name",
    Role: "role",
    Facility: "name",
    Event: "title",
    Agreement: "title",
}


class Wording:
    """The words of the record for one message in one language (``t``'s)."""

    def __init__(self, t: Texts, known: Knowledge) -> None:
        self.t = t
        self.known = known
        self.language = t.language
        self._marked = False

    @classmethod
    def curated(cls, t: Texts) -> Wording:
        """The record as curated, in English whatever ``t``'s language: what admins edit."""
        return cls(t, Knowledge())

    def translation(self, item: Worded, field: str) -> Translation | None:
        if self.language == DEFAULT_LANGUAGE:
            return None
        return self.known.translation(KIND_OF[type(item)], item.id, field, self.language)

    def text(self, item: Worded, field: str) -> str:
        """The field in the reader's language, else in English; unmarked (for a button)."""
        found = self.translation(item, field)
        if found is not None:
            return found.text
        value = getattr(item, field)
        return "" if value is None else str(value)

    def title(self, item: Worded) -> str:
        """What names the item (a title, a name), unmarked."""
        return self.text(item, TITLE_OF[type(item)])

    def ours(self, item: Worded, *fields: str) -> bool:
        """Whether any of these fields is shown in a translation of our own."""
        for field in fields:
            found = self.translation(item, field)
            if found is not None and found.source_id is None:
                return True
        return False

    def __call__(self, item: Worded, field: str) -> Html:
        """The field as a message shows it: escaped, and marked if it is our translation."""
        return self.marked(self.text(item, field), ours=self.ours(item, field))

    def marked(self, text: str, *, ours: bool) -> Html:
        """Words the message shows, marked when they are our translation."""
        if not ours:
            return escape(text)
        self._marked = True
        return self.t("wording.ours", text=text)

    def footer(self, sources: Html) -> Html:
        """The message's sources, and below them what the mark means if anything was marked."""
        if not self._marked:
            return sources
        return join([part for part in (sources, self.t("wording.ours_note")) if part])

    def below(self, message: Html) -> Html:
        """A message without sources, with what the mark means after it if anything was."""
        return join([message, self.t("wording.ours_note")], "\n\n") if self._marked else message
