"""Durations as people write them in a config file: ``90s``, ``10m``, ``1h``, ``7d``."""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION = re.compile(r"(\d+)\s*([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_SHORT = (("d", timedelta(days=1)), ("h", timedelta(hours=1)), ("m", timedelta(minutes=1)))


def parse_duration(text: str, *, longest: timedelta) -> timedelta:
    """A positive duration up to `longest`; ValueError naming the accepted forms otherwise.

    The bound is the caller's: a number of any size parses, and timedelta overflows far below
    what a digit string can hold.
    """
    match = _DURATION.fullmatch(text.strip().lower())
    if match is None or int(match.group(1)) == 0:
        raise ValueError(f"{text!r} is not a duration (write e.g. '90s', '10m', '1h' or '7d')")
    number, unit = int(match.group(1)), timedelta(**{_UNITS[match.group(2)]: 1})
    if number > longest // unit:
        raise ValueError(f"{text!r} is longer than {format_duration(longest)}")
    return number * unit


def format_duration(delta: timedelta) -> str:
    """The shortest exact form: the inverse of parse_duration."""
    for suffix, unit in _SHORT:
        if delta % unit == timedelta(0):
            return f"{delta // unit}{suffix}"
    return f"{int(delta.total_seconds())}s"
