"""A bounded on-disk queue of batches, for when the database is away.

One file per batch, named `<sequence>-<batch id>.batch` with a zero-padded sequence, so sorting the
names gives the order the batches were written in. Each file is

    magic b"SWSPOOL1" | payload length (uint32, big-endian) | CRC-32 of the payload (uint32) | payload

written to a temporary name, fsynced, renamed into place and the directory fsynced: after a crash a
batch is either whole or absent. Leftover temporary files are deleted on open (their batches were
never reported durable). A file that fails its checks is moved to `corrupt/` and logged, never fatal.

One process owns a spool directory at a time (an exclusive `flock` on `.lock`): two writers would
interleave sequence numbers and drain each other's batches.

Plain blocking file I/O: the store calls it from a worker thread, and a lock keeps the accounting
right when appends and removals overlap.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import struct
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from ingest.metrics import SPOOL_BATCHES, SPOOL_BYTES

log = logging.getLogger(__name__)

MAGIC = b"SWSPOOL1"
_HEADER = struct.Struct(">8sII")
_NAME = re.compile(r"^(\d{16})-([0-9a-f]{32})\.batch$")
_TEMP_PREFIX = ".tmp-"
CORRUPT_DIR = "corrupt"
REJECTED_DIR = "rejected"


class SpoolBusy(RuntimeError):
    """Another process holds the spool directory."""


@dataclass(frozen=True, slots=True)
class SpooledBatch:
    batch_id: UUID
    payload: bytes


@dataclass(frozen=True, slots=True)
class _Entry:
    sequence: int
    path: Path
    size: int


class Spool:
    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._entries: dict[UUID, _Entry] = {}
        self._bytes = 0
        self._next_sequence = 0
        directory.mkdir(parents=True, exist_ok=True)
        self._lock_fd: int | None = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(self._lock_fd)
            self._lock_fd = None
            raise SpoolBusy(f"spool {directory} is in use by another process") from exc
        self._scan()

    # --- state ----------------------------------------------------------------------------------

    @property
    def size_bytes(self) -> int:
        return self._bytes

    @property
    def full(self) -> bool:
        """At or over `max_bytes`: take no more batches until some are drained."""
        return self._bytes >= self.max_bytes

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, batch_id: object) -> bool:
        return batch_id in self._entries

    # `_entries` is kept in sequence order: the scan adds files sorted by name, appends add the next
    # sequence number, and dicts keep insertion order through removals.

    def batch_ids(self) -> list[UUID]:
        """Spooled batch ids, oldest first."""
        with self._lock:
            return list(self._entries)

    def oldest(self) -> UUID | None:
        with self._lock:
            return next(iter(self._entries), None)

    def close(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the flock
            self._lock_fd = None

    # --- operations -----------------------------------------------------------------------------

    def append(self, batch_id: UUID, payload: bytes) -> None:
        """Store one batch durably; when this returns, the batch survives a crash or power loss."""
        data = _HEADER.pack(MAGIC, len(payload), zlib.crc32(payload)) + payload
        with self._lock:
            if batch_id in self._entries:
                raise ValueError(f"batch {batch_id} is already spooled")
            sequence = self._next_sequence
            self._next_sequence += 1
        path = self.directory / f"{sequence:016d}-{batch_id.hex}.batch"
        temp = self.directory / f"{_TEMP_PREFIX}{path.name}"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            temp.unlink(missing_ok=True)
            raise
        os.close(fd)
        os.rename(temp, path)
        self._sync_directory()
        with self._lock:
            self._entries[batch_id] = _Entry(sequence, path, len(data))
            self._bytes += len(data)
        self._report()

    def __iter__(self) -> Iterator[SpooledBatch]:
        """The batches, oldest first. Corrupt files are moved aside and skipped; batches appended
        during the iteration are not included (iterate again)."""
        for batch_id in self.batch_ids():
            payload = self.read(batch_id)
            if payload is not None:
                yield SpooledBatch(batch_id, payload)

    def read(self, batch_id: UUID) -> bytes | None:
        """One batch's payload; None when it is gone or corrupt (then it is moved aside)."""
        with self._lock:
            entry = self._entries.get(batch_id)
        if entry is None:
            return None
        try:
            raw = entry.path.read_bytes()
        except FileNotFoundError:
            # Deleted behind our back: nothing to read, so nothing to account for either.
            log.error("spool: %s has disappeared", entry.path.name)
            self._forget(batch_id)
            return None
        problem = _check(raw)
        if problem is not None:
            self.set_aside(batch_id, problem)
            return None
        return raw[_HEADER.size :]

    def remove(self, batch_id: UUID) -> None:
        """Delete a batch (after its rows are committed). Unknown ids are ignored."""
        entry = self._forget(batch_id)
        if entry is not None:
            entry.path.unlink(missing_ok=True)
            self._sync_directory()

    def set_aside(self, batch_id: UUID, reason: str) -> Path | None:
        """Move a batch that cannot be read or written to `corrupt/`, for a person to look at."""
        entry = self._forget(batch_id)
        return None if entry is None else self._move_aside(entry.path, reason)

    def keep_rejected(self, batch_id: UUID, payload: bytes, reason: str) -> Path:
        """Write rows the database refused to `rejected/`: they were reported durable, so they are kept."""
        folder = self.directory / REJECTED_DIR
        folder.mkdir(exist_ok=True)
        path = folder / f"{batch_id.hex}.json"
        temp = folder / f"{_TEMP_PREFIX}{path.name}"
        with temp.open("wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
        log.error("spool: rows of batch %s the database refused are kept in %s: %s", batch_id, path, reason)
        return path

    # --- internals ------------------------------------------------------------------------------

    def _forget(self, batch_id: UUID) -> _Entry | None:
        with self._lock:
            entry = self._entries.pop(batch_id, None)
            if entry is not None:
                self._bytes -= entry.size
        self._report()
        return entry

    def _scan(self) -> None:
        for path in sorted(self.directory.iterdir()):
            if not path.is_file() or path.name == ".lock":
                continue
            if path.name.startswith(_TEMP_PREFIX):
                # Never renamed into place, so never reported durable: its records were not acknowledged.
                log.warning("spool: deleting %s, an unfinished write", path.name)
                path.unlink(missing_ok=True)
                continue
            match = _NAME.match(path.name)
            if match is None:
                self._move_aside(path, "not a spool file name")
                continue
            sequence, batch_id = int(match[1]), UUID(hex=match[2])
            size = path.stat().st_size
            self._entries[batch_id] = _Entry(sequence, path, size)
            self._bytes += size
            self._next_sequence = max(self._next_sequence, sequence + 1)
        if self._entries:
            log.info("spool %s holds %d batch(es), %d bytes", self.directory, len(self._entries), self._bytes)
        self._report()

    def _move_aside(self, path: Path, reason: str) -> Path | None:
        folder = self.directory / CORRUPT_DIR
        folder.mkdir(exist_ok=True)
        target = folder / path.name
        try:
            os.replace(path, target)
        except FileNotFoundError:
            return None
        self._sync_directory()
        log.error("spool: moved %s to %s: %s", path.name, folder, reason)
        return target

    def _sync_directory(self) -> None:
        # A rename or unlink is durable only once the directory itself is synced.
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _report(self) -> None:
        SPOOL_BYTES.set(self._bytes)
        SPOOL_BATCHES.set(len(self._entries))


def _check(raw: bytes) -> str | None:
    """Why a spool file cannot be trusted, or None when it is whole."""
    if len(raw) < _HEADER.size:
        return "shorter than its header"
    magic, length, crc = _HEADER.unpack_from(raw)
    if magic != MAGIC:
        return "not a spool file (wrong magic)"
    if len(raw) - _HEADER.size != length:
        return f"payload is {len(raw) - _HEADER.size} bytes, header says {length}"
    if zlib.crc32(raw[_HEADER.size :]) != crc:
        return "checksum mismatch"
    return None
