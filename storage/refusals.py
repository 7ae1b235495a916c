"""Attempts on the curators' tools by someone else, counted a row per minute.

The admin gate (bot/curation/admins.py) refuses them; this keeps what /stats reports of them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.bot_models import Refusal

# How long refused attempts are kept: long enough to see who keeps trying, and a bound on rows.
KEPT = timedelta(days=30)


async def count(
    session: AsyncSession,
    *,
    user_id: int | None,
    username: str | None,
    chat_id: int | None,
    command: str,
    now: datetime,
) -> bool:
    """Count an attempt by someone who is not an admin; True if it is the first of its minute.

    Repeats within a minute add to one row, so a burst costs a row, not a row per attempt;
    each new row prunes those older than ``KEPT``. The count is one UPDATE, a write
    from its first statement, so attempts counted side by side never read a stale row.
    """
    minute = now.replace(second=0, microsecond=0)
    command = command[:64]
    counted = await session.scalar(
        update(Refusal)
        .where(
            Refusal.at == minute,
            Refusal.user_id.is_not_distinct_from(user_id),
            Refusal.chat_id.is_not_distinct_from(chat_id),
            Refusal.command == command,
        )
        .values(count=Refusal.count + 1, username=username)
        .returning(Refusal.id)
    )
    if counted is not None:
        return False
    await session.execute(delete(Refusal).where(Refusal.at < minute - KEPT))
    session.add(
        Refusal(
            at=minute,
            user_id=user_id,
            username=username,
            chat_id=chat_id,
            command=command,
            count=1,
        )
    )
    await session.flush()
    return True
