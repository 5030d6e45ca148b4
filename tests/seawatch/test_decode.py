"""`seawatch decode` through the real command line, on real recordings."""

import io
import json
from pathlib import Path

import pytest

from seawatch.decode import run_decode
from tests.seawatch.helpers import run_seawatch


def json_lines(data: bytes) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in data.decode().splitlines()]


def test_an_ais_recording_decodes_in_input_order(shared_data: Path) -> None:
    recording = shared_data / "ais" / "recordings" / "dma-stream_example.txt"
    result = run_seawatch("decode", str(recording))
    assert result.returncode == 0
    records = json_lines(result.stdout)
    assert len(records) == 4051
    assert result.stderr == b""
    assert all(r["ts"].endswith("Z") for r in records)  # every sentence follows a $PGHP time stamp
    assert records[0]["ts"] == "2010-06-11T11:46:11.390000Z"  # from the first $PGHP line
    assert {r["source"] for r in records} == {"ais"}


def test_problems_go_to_stderr_with_the_input_and_do_not_stop_the_run(shared_data: Path) -> None:
    recording = shared_data / "ais" / "recordings" / "pyais-nmea_data_sample.txt"
    result = run_seawatch("decode", "-", stdin=recording.read_bytes())
    assert result.returncode == 0
    problems = json_lines(result.stderr)
    assert len(json_lines(result.stdout)) == 778
    assert len(problems) == 120
    assert all(set(p) == {"error", "message", "input"} for p in problems)


def test_bad_lines_between_good_ones_keep_the_order() -> None:
    good1 = b"!AIVDM,1,1,,A,15N1u<PP1FJuvSRHOE6QIwwh0HQ6,0*30"
    good2 = b"!AIVDM,1,1,,A,403Ovl@000Htt<tSF0l4Q@100`Pq,0*28"
    stream = good1 + b"\nrubbish\n" + b"!AIVDM,1,1,,A,15N1u<PP1FJuvSRHOE6QIwwh0HQ6,0*31\n" + good2
    result = run_seawatch("decode", "--protocol", "nmea", stdin=stream)
    assert result.returncode == 0
    assert [r["msg_type"] for r in json_lines(result.stdout)] == [1, 4]
    assert [p["error"] for p in json_lines(result.stderr)] == ["syntax", "checksum"]
    assert json_lines(result.stdout)[0]["ts"] is None  # no tag block, no trailer: time unknown


def test_jt808_hex_text_is_detected(shared_data: Path, tmp_path: Path) -> None:
    frames = []
    for line in (shared_data / "jt808" / "vectors.jsonl").read_text().splitlines():
        sample = json.loads(line)
        if sample.get("kind") == "frame" and sample["hex"].lower().startswith("7e0200"):
            frames.append(sample["hex"])
    path = tmp_path / "frames.hex"
    path.write_text("\n".join(frames[:20]) + "\nnot hex at all\n")
    result = run_seawatch("decode", str(path))
    assert result.returncode == 0
    records, problems = json_lines(result.stdout), json_lines(result.stderr)
    # One collected frame carries an unescaped 0x7e in its body; it is reported, not decoded.
    assert (len(records), len(problems)) == (19, 2)
    assert all(isinstance(r["terminal"], str) and r["terminal"].isdigit() for r in records)
    assert [p["error"] for p in problems] == ["jt808_delimiter", "jt808_hex"]


def test_an_unreadable_input_is_exit_status_1(tmp_path: Path) -> None:
    result = run_seawatch("decode", str(tmp_path / "missing.nmea"))
    assert result.returncode == 1
    assert "missing.nmea" in result.stderr.decode()


def test_jobs_2_gives_the_output_of_jobs_1_on_a_recording_with_multi_sentence_messages(
    shared_data: Path,
) -> None:
    # 427 kB, so the default chunks (256 kB) cut it; 898 two-sentence messages, each after a $PGHP time.
    recording = shared_data / "ais" / "recordings" / "dma-stream_example.txt"
    one = run_seawatch("decode", "--jobs", "1", str(recording))
    two = run_seawatch("decode", "--jobs", "2", str(recording))
    assert (one.returncode, two.returncode) == (0, 0)
    assert two.stdout == one.stdout
    assert two.stderr == one.stderr
    assert len(json_lines(one.stdout)) == 4051
    assert sum(r["msg_type"] == 5 for r in json_lines(one.stdout)) > 100


@pytest.mark.parametrize(
    "name", ["dma-stream_example.txt", "dma-decode_encode_messages.txt", "pyais-nmea_data_sample.txt"]
)
def test_parallel_decoding_in_small_chunks_keeps_every_message_and_the_order(
    shared_data: Path, name: str
) -> None:
    recording = str(shared_data / "ais" / "recordings" / name)
    serial_out, serial_err = io.BytesIO(), io.BytesIO()
    run_decode(recording, "auto", serial_out, serial_err, jobs=1)
    out, err = io.BytesIO(), io.BytesIO()
    run_decode(recording, "auto", out, err, jobs=2, chunk_bytes=2000)  # cut every 20-odd lines
    assert out.getvalue() == serial_out.getvalue()
    assert err.getvalue() == serial_err.getvalue()


def test_a_bad_jobs_count_is_a_usage_error() -> None:
    result = run_seawatch("decode", "--jobs", "0", "-", stdin=b"")
    assert result.returncode == 2
    assert "--jobs" in result.stderr.decode()


def test_decode_with_a_config_file_still_has_it_checked(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("log_level = 'NOISY'\n")
    result = run_seawatch("decode", "--config", str(config), "-", stdin=b"")
    assert result.returncode == 2
    assert "bad settings" in result.stderr.decode()
