"""Message id → declarative message class."""

from __future__ import annotations

from typing import TypeVar

from ingest.jt808.fields import Message

MESSAGES: dict[int, type[Message]] = {}

M = TypeVar("M", bound=type[Message])


def register(cls: M) -> M:
    """Class decorator: make ``cls`` the decoder for its ``MSG_ID``."""
    if cls.MSG_ID in MESSAGES:
        raise RuntimeError(f"message 0x{cls.MSG_ID:04x} registered twice")
    MESSAGES[cls.MSG_ID] = cls
    return cls
