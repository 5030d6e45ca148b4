import asyncio

import pytest

from seawatch.settings import SupervisorSettings
from seawatch.supervisor import Component, Supervisor, next_delay

SETTINGS = SupervisorSettings(
    restart_initial_s=1.0, restart_max_s=8.0, stable_after_s=60.0, shutdown_timeout_s=2.0
)


class FakeClock:
    """Time that moves only when the supervisor sleeps, or when a component says it ran a while."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def test_backoff_doubles_up_to_the_ceiling() -> None:
    delays = []
    delay = None
    for _ in range(6):
        delay = next_delay(delay, SETTINGS)
        delays.append(delay)
    assert delays == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


async def test_a_crashing_component_is_restarted_with_backoff_and_the_others_keep_running() -> None:
    clock = FakeClock()
    crashes = 0
    healthy_runs = 0
    enough = asyncio.Event()

    async def flaky() -> None:
        nonlocal crashes
        crashes += 1
        if crashes == 5:
            enough.set()
        raise ConnectionError("broker went away")

    async def steady() -> None:
        nonlocal healthy_runs
        healthy_runs += 1
        await asyncio.Event().wait()

    supervisor = Supervisor(
        [Component("flaky", flaky), Component("steady", steady)], SETTINGS, clock=clock, sleep=clock.sleep
    )
    stop = asyncio.Event()
    task = asyncio.create_task(supervisor.run(stop))
    await asyncio.wait_for(enough.wait(), 5)
    stop.set()
    await asyncio.wait_for(task, 5)
    state = supervisor.states["flaky"]
    assert state.delays[:4] == [1.0, 2.0, 4.0, 8.0]
    assert state.last_error == "ConnectionError: broker went away"
    assert healthy_runs == 1
    assert supervisor.states["steady"].crashes == 0


async def test_backoff_resets_after_a_stable_run() -> None:
    clock = FakeClock()
    runs = 0
    done = asyncio.Event()

    async def component() -> None:
        nonlocal runs
        runs += 1
        if runs == 3:
            clock.now += 120  # this run lasted two minutes: healthy again
        if runs == 5:
            done.set()
            await asyncio.Event().wait()
        raise RuntimeError("boom")

    supervisor = Supervisor([Component("c", component)], SETTINGS, clock=clock, sleep=clock.sleep)
    stop = asyncio.Event()
    task = asyncio.create_task(supervisor.run(stop))
    await asyncio.wait_for(done.wait(), 5)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert supervisor.states["c"].delays == [1.0, 2.0, 1.0, 2.0]


async def test_a_component_that_returns_is_restarted_too() -> None:
    clock = FakeClock()
    runs = 0
    done = asyncio.Event()

    async def quitter() -> None:
        nonlocal runs
        runs += 1
        if runs == 2:
            done.set()
            await asyncio.Event().wait()

    supervisor = Supervisor([Component("quitter", quitter)], SETTINGS, clock=clock, sleep=clock.sleep)
    stop = asyncio.Event()
    task = asyncio.create_task(supervisor.run(stop))
    await asyncio.wait_for(done.wait(), 5)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert supervisor.states["quitter"].last_error == "returned unexpectedly"


async def test_stop_cancels_components_and_lets_them_drain() -> None:
    drained = []
    started = asyncio.Event()

    async def writer() -> None:
        try:
            started.set()
            await asyncio.Event().wait()
        finally:
            await asyncio.sleep(0.01)  # flushing a last batch
            drained.append("writer")

    supervisor = Supervisor([Component("writer", writer)], SETTINGS)
    stop = asyncio.Event()
    task = asyncio.create_task(supervisor.run(stop))
    await started.wait()
    stop.set()
    await asyncio.wait_for(task, 5)
    assert drained == ["writer"]


async def test_a_component_that_will_not_stop_is_abandoned_after_the_timeout() -> None:
    started = asyncio.Event()
    release = False

    async def stubborn() -> None:
        started.set()
        while not release:
            try:
                await asyncio.sleep(0.02)
            except asyncio.CancelledError:
                continue  # ignores cancellation, as a buggy component might

    settings = SupervisorSettings(shutdown_timeout_s=0.2)
    supervisor = Supervisor([Component("stubborn", stubborn)], settings)
    stop = asyncio.Event()
    task = asyncio.create_task(supervisor.run(stop))
    await started.wait()
    stop.set()
    loop = asyncio.get_running_loop()
    begun = loop.time()
    await asyncio.wait_for(task, 5)
    assert loop.time() - begun < 2
    release = True  # let the abandoned task end so the event loop closes cleanly
    leftover = [t for t in asyncio.all_tasks() if t.get_name() == "component:stubborn"]
    await asyncio.wait(leftover, timeout=2)


def test_component_names_must_be_unique() -> None:
    async def noop() -> None:
        return None

    with pytest.raises(ValueError, match="unique"):
        Supervisor([Component("a", noop), Component("a", noop)], SETTINGS)
