import os
import uuid
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from tracking.spool import CORRUPT_DIR, MAGIC, Spool, SpoolBusy

MiB = 1 << 20


def spool_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.suffix == ".batch")


def test_batches_come_back_oldest_first_and_survive_reopening(tmp_path: Path) -> None:
    ids = [uuid.uuid4() for _ in range(12)]
    spool = Spool(tmp_path, MiB)
    for n, batch_id in enumerate(ids):
        spool.append(batch_id, f"batch {n}".encode())
    assert [b.batch_id for b in spool] == ids
    spool.close()

    reopened = Spool(tmp_path, MiB)
    assert [(b.batch_id, b.payload) for b in reopened] == [
        (i, f"batch {n}".encode()) for n, i in enumerate(ids)
    ]
    # New batches go after the old ones even though the process started again.
    later = uuid.uuid4()
    reopened.append(later, b"later")
    assert reopened.batch_ids() == [*ids, later]
    assert spool_files(tmp_path) == sorted(spool_files(tmp_path))
    reopened.close()


def test_remove_and_size_accounting(tmp_path: Path) -> None:
    spool = Spool(tmp_path, MiB)
    a, b = uuid.uuid4(), uuid.uuid4()
    spool.append(a, b"x" * 1000)
    spool.append(b, b"y" * 500)
    on_disk = sum(p.stat().st_size for p in tmp_path.glob("*.batch"))
    assert spool.size_bytes == on_disk
    assert REGISTRY.get_sample_value("seawatch_store_spool_bytes") == on_disk
    assert REGISTRY.get_sample_value("seawatch_store_spool_batches") == 2
    spool.remove(a)
    spool.remove(a)  # a second removal is harmless
    assert spool.batch_ids() == [b]
    assert spool.oldest() == b
    assert spool.size_bytes == sum(p.stat().st_size for p in tmp_path.glob("*.batch"))
    assert REGISTRY.get_sample_value("seawatch_store_spool_batches") == 1
    spool.remove(b)
    assert len(spool) == 0 and spool.size_bytes == 0 and spool.oldest() is None
    assert spool_files(tmp_path) == []
    spool.close()


def test_full_at_the_limit(tmp_path: Path) -> None:
    spool = Spool(tmp_path, MiB)
    seen = [spool.full]
    spool.append(uuid.uuid4(), b"z" * (MiB // 2))
    seen.append(spool.full)
    spool.append(uuid.uuid4(), b"z" * (MiB // 2))  # the limit is reached with the header bytes
    seen.append(spool.full)
    spool.remove(spool.batch_ids()[0])
    seen.append(spool.full)
    assert seen == [False, False, True, False]
    spool.close()


def test_the_same_batch_is_not_spooled_twice(tmp_path: Path) -> None:
    spool = Spool(tmp_path, MiB)
    batch_id = uuid.uuid4()
    spool.append(batch_id, b"once")
    with pytest.raises(ValueError, match="already spooled"):
        spool.append(batch_id, b"twice")
    spool.close()


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[: len(raw) - 3],  # torn write
        lambda raw: raw[:-1] + bytes([raw[-1] ^ 0xFF]),  # flipped bits
        lambda raw: b"NOTSPOOL" + raw[8:],  # something else entirely
        lambda raw: raw[:5],  # shorter than the header
    ],
)
def test_a_corrupt_file_is_moved_aside_and_the_rest_still_read(tmp_path: Path, damage) -> None:  # type: ignore[no-untyped-def]
    spool = Spool(tmp_path, MiB)
    ids = [uuid.uuid4() for _ in range(3)]
    for batch_id in ids:
        spool.append(batch_id, b"payload " + batch_id.bytes)
    victim = next(tmp_path.glob(f"*-{ids[1].hex}.batch"))
    victim.write_bytes(damage(victim.read_bytes()))

    assert [b.batch_id for b in spool] == [ids[0], ids[2]]
    assert (tmp_path / CORRUPT_DIR / victim.name).exists()
    assert ids[1] not in spool
    assert spool.size_bytes == sum(p.stat().st_size for p in tmp_path.glob("*.batch"))
    spool.close()


def test_unfinished_writes_and_strange_files_are_cleared_on_open(tmp_path: Path) -> None:
    spool = Spool(tmp_path, MiB)
    kept = uuid.uuid4()
    spool.append(kept, b"kept")
    spool.close()
    (tmp_path / f".tmp-0000000000000005-{uuid.uuid4().hex}.batch").write_bytes(MAGIC + b"\0\0")
    (tmp_path / "notes.txt").write_text("not a batch")

    reopened = Spool(tmp_path, MiB)
    assert reopened.batch_ids() == [kept]
    assert not list(tmp_path.glob(".tmp-*"))
    assert (tmp_path / CORRUPT_DIR / "notes.txt").exists()
    reopened.close()


def test_one_process_at_a_time(tmp_path: Path) -> None:
    first = Spool(tmp_path, MiB)
    with pytest.raises(SpoolBusy):
        Spool(tmp_path, MiB)
    first.close()
    Spool(tmp_path, MiB).close()


def test_rejected_rows_are_kept_beside_the_spool(tmp_path: Path) -> None:
    spool = Spool(tmp_path, MiB)
    batch_id = uuid.uuid4()
    path = spool.keep_rejected(batch_id, b'{"rows": []}', "refused")
    assert path.read_bytes() == b'{"rows": []}'
    assert len(spool) == 0  # not a batch to drain
    spool.close()


def test_files_are_written_whole_under_their_final_name(tmp_path: Path) -> None:
    spool = Spool(tmp_path, MiB)
    spool.append(uuid.uuid4(), b"p" * 10_000)
    names = os.listdir(tmp_path)
    assert not [n for n in names if n.startswith(".tmp-")]
    [path] = tmp_path.glob("*.batch")
    assert path.read_bytes().startswith(MAGIC) and path.stat().st_size == 16 + 10_000
    spool.close()
