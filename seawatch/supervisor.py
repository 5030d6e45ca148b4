"""Runs components as asyncio tasks, restarts the ones that crash, and drains them all on shutdown.

A component is a name and a coroutine function that runs until cancelled. If it raises, or returns when
it should not have, it is logged and started again after a delay that doubles up to a ceiling; a run
that lasted `stable_after_s` counts as healthy and resets the delay. Time comes from an injected clock
and sleep, so the backoff is tested without waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from seawatch.settings import SupervisorSettings

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Component:
    name: str
    run: Callable[[], Awaitable[None]]
    role: str = "core"  # which `seawatch run --only` selection it belongs to


@dataclass
class ComponentState:
    starts: int = 0
    crashes: int = 0
    last_error: str | None = None
    running: bool = False
    delays: list[float] = field(default_factory=list)


def next_delay(previous: float | None, settings: SupervisorSettings) -> float:
    if previous is None:
        return settings.restart_initial_s
    return min(previous * 2, settings.restart_max_s)


class Supervisor:
    def __init__(
        self,
        components: Sequence[Component],
        settings: SupervisorSettings,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        names = [c.name for c in components]
        if len(set(names)) != len(names):
            raise ValueError(f"component names must be unique: {names}")
        self.components = list(components)
        self.settings = settings
        self.clock = clock
        self.sleep = sleep
        self.states = {c.name: ComponentState() for c in components}

    async def _keep_running(self, component: Component) -> None:
        state = self.states[component.name]
        delay: float | None = None
        while True:
            started = self.clock()
            state.starts += 1
            state.running = True
            try:
                await component.run()
                problem = "returned unexpectedly"
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                problem = f"{type(exc).__name__}: {exc}"
                log.error("component %s crashed: %s", component.name, problem, exc_info=exc)
            finally:
                state.running = False
            state.crashes += 1
            state.last_error = problem
            if self.clock() - started >= self.settings.stable_after_s:
                delay = None
            delay = next_delay(delay, self.settings)
            state.delays.append(delay)
            log.warning("restarting component %s in %.1f s (%s)", component.name, delay, problem)
            await self.sleep(delay)

    async def run(self, stop: asyncio.Event) -> None:
        """Run every component until `stop` is set, then cancel them and wait for them to drain."""
        tasks = [
            asyncio.create_task(self._keep_running(c), name=f"component:{c.name}") for c in self.components
        ]
        log.info("started components: %s", ", ".join(c.name for c in self.components))
        try:
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            done, pending = await asyncio.wait(tasks, timeout=self.settings.shutdown_timeout_s)
            for task in pending:
                log.error(
                    "component task %s did not stop within %.1f s",
                    task.get_name(),
                    self.settings.shutdown_timeout_s,
                )
            for task in done:
                with contextlib.suppress(asyncio.CancelledError):
                    exc = task.exception()
                    if exc is not None:
                        log.error("component task %s ended with %r", task.get_name(), exc)
            log.info("all components stopped")
