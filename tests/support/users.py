"""Acting as a user in tests that call the kernel in-process."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from stack_core import User, current_user


@contextmanager
def as_user(user: User | None) -> Iterator[None]:
    """Run the block as ``user`` (what the auth middleware sets for a request)."""
    token = current_user.set(user)
    try:
        yield
    finally:
        current_user.reset(token)
