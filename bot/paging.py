"""One page of a list, with what the reader needs to draw back/next buttons."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    number: int
    count: int
    total: int


def page_of(items: Sequence[T], *, number: int, size: int) -> Page[T]:
    """The ``number``-th page, clamped into range so that a stale button still lands somewhere."""
    count = max(1, -(-len(items) // size))
    number = min(max(number, 0), count - 1)
    start = number * size
    return Page(items=items[start : start + size], number=number, count=count, total=len(items))
