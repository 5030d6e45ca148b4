"""Running the real `seawatch` command in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def seawatch_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEAWATCH_")}
    env.update(extra)
    return env


def run_seawatch(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "seawatch", *args],
        input=stdin,
        capture_output=True,
        env=env or seawatch_env(),
        timeout=timeout,
        cwd=PROJECT_ROOT,
        check=False,
    )


def start_seawatch(*args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "seawatch", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=PROJECT_ROOT,
    )


def wait_ready(base_url: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> httpx.Response:
    """Poll /readyz until it answers 200; fail early if the process dies."""
    deadline = time.monotonic() + timeout
    last: httpx.Response | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            _, err = proc.communicate()
            raise AssertionError(
                f"seawatch exited with {proc.returncode}: {err.decode(errors='replace')[-3000:]}"
            )
        try:
            last = httpx.get(f"{base_url}/readyz", timeout=1)
            if last.status_code == 200:
                return last
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"not ready after {timeout} s; last answer: {last and last.text}")


def stop(proc: subprocess.Popen[bytes], sig: int, timeout: float = 10) -> tuple[int, float, str, str]:
    """Send `sig` and wait; returns (exit status, seconds it took, stdout, stderr)."""
    began = time.monotonic()
    proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(
            f"did not stop within {timeout} s: {err.decode(errors='replace')[-3000:]}"
        ) from None
    return proc.returncode, time.monotonic() - began, out.decode(), err.decode()
