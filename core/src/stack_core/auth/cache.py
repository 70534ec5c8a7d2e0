"""A small TTL cache of validated tokens, keyed by the token's hash (tokens are never stored)."""

from __future__ import annotations

import hashlib
import time

from ..resources import User

__all__ = ["TokenCache", "token_hash"]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenCache:
    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self.ttl, self.max_entries = ttl, max_entries
        self._entries: dict[str, tuple[float, User]] = {}

    def get(self, token: str) -> User | None:
        if self.ttl <= 0:
            return None
        entry = self._entries.get(token_hash(token))
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, token: str, user: User) -> None:
        if self.ttl <= 0:
            return
        if len(self._entries) >= self.max_entries:
            now = time.monotonic()
            self._entries = {k: v for k, v in self._entries.items() if v[0] >= now}
            while len(self._entries) >= self.max_entries:
                self._entries.pop(next(iter(self._entries)))
        self._entries[token_hash(token)] = (time.monotonic() + self.ttl, user)
