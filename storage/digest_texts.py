"""A digest's words in each language and zone that its chats read: written once per pair
when the digest is made, in the transaction that writes its deliveries, and read once per
fan-out. A delivery with no matching words (a broadcast's, which has one text from its admin)
gets the digest's own text."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.bot_models import Delivery, DigestText
from storage.dialect import insert_new
from storage.digests import DeliveryStatus


async def reader_pairs(session: AsyncSession, *, digest_id: str) -> list[tuple[str, str]]:
    """The (language, zone) pairs that the digest's pending deliveries read in."""
    rows = await session.execute(
        select(Delivery.language, Delivery.zone)
        .where(
            Delivery.digest_id == digest_id,
            Delivery.status == DeliveryStatus.PENDING,
            Delivery.language.is_not(None),
            Delivery.zone.is_not(None),
        )
        .distinct()
        .order_by(Delivery.language, Delivery.zone)
    )
    return [(str(language), str(zone)) for language, zone in rows]


async def write_texts(
    session: AsyncSession, *, digest_id: str, texts: Mapping[tuple[str, str], str]
) -> None:
    """The digest's words in each (language, zone)."""
    if not texts:
        return
    rows = [
        {"digest_id": digest_id, "language": language, "zone": zone, "text": text}
        for (language, zone), text in texts.items()
    ]
    await session.execute(insert_new(session, DigestText), rows)


async def texts_of(session: AsyncSession, *, digest_id: str) -> dict[tuple[str, str], str]:
    """The digest's words by (language, zone); a delivery with none of them gets its text."""
    rows = await session.execute(
        select(DigestText.language, DigestText.zone, DigestText.text).where(
            DigestText.digest_id == digest_id
        )
    )
    return {(language, zone): text for language, zone, text in rows}
