"""The confuser-video ledger counts a clip only for the detector it was measured with."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import ledger


def test_a_record_counts_only_under_its_own_fingerprint_and_the_last_wins(tmp_path: Path) -> None:
    path = tmp_path / "l.jsonl"
    ledger.append(path, {"name": "a", "fingerprint": "old", "events": [1]})
    ledger.append(path, {"name": "a", "fingerprint": "new", "events": [1]})
    ledger.append(path, {"name": "a", "fingerprint": "new", "events": []})
    ledger.append(path, {"name": "b", "fingerprint": "new", "events": []})
    assert sorted((r["name"], r["events"]) for r in ledger.load(path, "new")) == [("a", []), ("b", [])]
    assert ledger.load(tmp_path / "none.jsonl", "new") == []


def test_the_fingerprint_follows_the_files_bytes() -> None:
    files = ("bench/ledger.py", "bench/report.py")
    assert ledger.fingerprint(files) == ledger.fingerprint(files)
    assert ledger.fingerprint(files) != ledger.fingerprint(files[::-1])
    assert ledger.fingerprint(files[:1]) != ledger.fingerprint(files)


def test_a_broken_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "l.jsonl"
    ledger.append(path, {"name": "a", "fingerprint": "f"})
    with path.open("a") as f:
        f.write('{"name": "b", "finger\n')
    with pytest.raises(SystemExit, match=r"l.jsonl:2: not a JSON line"):
        ledger.load(path, "f")
