"""The inbox: updates in hand, kept from the moment they are confirmed until they are handled."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.bot_models import Inbox


async def keep(session: AsyncSession, payloads: Mapping[int, str]) -> None:
    """Keep these updates (JSON by update id) until `forget`; one already kept stays as it is."""
    known = set(
        await session.scalars(select(Inbox.update_id).where(Inbox.update_id.in_(payloads)))
    )
    session.add_all(
        Inbox(update_id=update_id, payload=payload)
        for update_id, payload in payloads.items()
        if update_id not in known
    )


async def forget(session: AsyncSession, update_ids: Collection[int]) -> None:
    """These updates have been handled."""
    if update_ids:
        await session.execute(delete(Inbox).where(Inbox.update_id.in_(update_ids)))


async def waiting(session: AsyncSession) -> Sequence[Inbox]:
    """Every update kept and not yet handled, oldest first."""
    return (await session.scalars(select(Inbox).order_by(Inbox.update_id))).all()
