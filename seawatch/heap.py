"""Keeping the garbage collector's full passes short, for the sake of a distress alert's latency.

CPython's full (generation 2) collection walks every container object the process holds. Once
seawatch is running, most of them were made at start-up — the modules, classes and functions of
FastAPI, pydantic, numpy, shapely and our own code, about 200,000 objects — and never become
garbage; yet each full pass walked them all, stopping the event loop 100–170 ms every few seconds
under a 5,000 messages/s feed (bench/alert_latency.py: p99 of a distress alert 250–450 ms, most of
it collector pauses). `gc.freeze()` moves what exists at that moment into a permanent generation
that collections skip: after start-up, full passes walk only the objects made since.
"""

from __future__ import annotations

import gc


def freeze_startup_objects() -> int:
    """Collect once, then exempt every object alive now from later collections; returns how many.

    The collection first, so that start-up garbage is freed rather than frozen. Objects frozen still
    go when their reference count drops to zero; only a reference cycle among them would stay, and
    what exists at start-up lives as long as the process.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def thaw() -> None:
    """Back to normal collection (the service has stopped; a test process goes on)."""
    gc.unfreeze()
