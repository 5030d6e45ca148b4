"""Serving the app with uvicorn as one supervised component."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Generator

import uvicorn
from fastapi import FastAPI

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    # The supervisor owns SIGTERM/SIGINT; uvicorn must not take them over (it would re-raise them).
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def serve_http(app: FastAPI, host: str, port: int, *, started: asyncio.Event | None = None) -> None:
    """Serve until cancelled; on cancel, stop accepting, finish open requests, then return."""
    config = uvicorn.Config(
        app, host=host, port=port, log_config=None, access_log=False, lifespan="off", ws="websockets-sansio"
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                await task  # raises the bind error, if that is why it stopped
                raise RuntimeError(f"HTTP server on {host}:{port} stopped before it started")
            await asyncio.sleep(0.05)
        log.info("HTTP server listening on http://%s:%d", host, bound_port(server) or port)
        if started is not None:
            started.set()
        await asyncio.shield(task)
    except asyncio.CancelledError:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
        raise


def bound_port(server: uvicorn.Server) -> int | None:
    for srv in getattr(server, "servers", []):
        for sock in srv.sockets:
            return int(sock.getsockname()[1])
    return None
