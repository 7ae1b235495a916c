"""The recent searches, by a short key that a paging button carries instead of the words.

A button's data is at most 64 bytes and a search may be ten words of any script (a Cyrillic
letter is two bytes, an emoji four): the words do not fit, a key does. The memory is bounded
and forgets the least recently used; a button whose key is forgotten (or from before a restart)
asks to search again.
"""

from __future__ import annotations

import base64
import hashlib
from collections import OrderedDict

# Searches remembered at once: ten words of 64 letters at most each (storage.search), so 15 MB
# at worst (all Cyrillic, measured with tracemalloc), and well under 1 MB for real questions.
CAPACITY = 10_000
# Nine bytes of hash: twelve characters of URL-safe base64 (no colon, which splits button data);
# two of 10,000 remembered searches share a key with a chance of about one in 10^13.
_KEY_BYTES = 9


class RecentSearches:
    """Search words by key, the most recently used kept."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._words: OrderedDict[str, str] = OrderedDict()

    def __len__(self) -> int:
        return len(self._words)

    def remember(self, words: str) -> str:
        """Keep the words; their key, the same for the same words."""
        digest = hashlib.blake2b(words.encode(), digest_size=_KEY_BYTES).digest()
        key = base64.urlsafe_b64encode(digest).decode()
        self._words[key] = words
        self._words.move_to_end(key)
        while len(self._words) > self._capacity:
            self._words.popitem(last=False)
        return key

    def recall(self, key: str) -> str | None:
        """The words kept under a key, or None if they were forgotten or never kept."""
        words = self._words.get(key)
        if words is not None:
            self._words.move_to_end(key)
        return words
