"""A committed ledger of long confuser-video runs, so camera-days add up over many sittings.

Showing "at most one false alarm per camera per 24 h" takes a day of video, and rendering and
analysing it takes longer than one sitting on a small machine. Each finished clip is appended
as one JSON line, with a fingerprint of the files that decide what the detector does; a
table counts only the lines whose fingerprint matches the code of today, so any change to
the detector or its model starts the count again instead of mixing two detectors' figures.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from bench.report import commit, write_section

ROOT = Path(__file__).resolve().parent.parent


def fingerprint(files: Iterable[str]) -> str:
    """sha256 (first 16 hex digits) over the named repo files' bytes, in the order given."""
    h = hashlib.sha256()
    for name in files:
        h.update(name.encode() + b"\0" + (ROOT / name).read_bytes() + b"\0")
    return h.hexdigest()[:16]


def records(path: Path) -> list[dict]:
    """Every record of the ledger, oldest first, whatever detector made it."""
    if not path.exists():
        return []
    out = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise SystemExit(f"{path}:{n}: not a JSON line ({exc.msg}); fix or delete that line") from exc
    return out


def load(path: Path, print_: str) -> list[dict]:
    """The ledger's records made with fingerprint `print_`, one per clip name (the last wins)."""
    return list({rec["name"]: rec for rec in records(path) if rec.get("fingerprint") == print_}.values())


def append(path: Path, record: dict) -> None:
    """One line per finished clip, flushed at once: an interrupted run keeps what it finished."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        f.write(json.dumps(record, sort_keys=True) + "\n")


def extend(
    path: Path, files: Iterable[str], named_jobs: Iterable[tuple[str, object]], count: int, run: Callable, workers: int
) -> None:
    """Run `run` (in `workers` processes) on the first `count` of `named_jobs` whose name the
    ledger lacks for today's `files`, appending each result as it finishes: a run stopped
    halfway keeps every clip it finished, and the next run goes on from there."""
    print_, at = fingerprint(files), commit()  # the code this run has loaded, whatever lands meanwhile
    done = {r["name"] for r in load(path, print_)}
    todo = list(itertools.islice(((n, j) for n, j in named_jobs if n not in done), count))
    with ProcessPoolExecutor(workers) as pool:
        for future in as_completed([pool.submit(run, job) for _name, job in todo]):
            record = future.result()
            append(path, {**record, "fingerprint": print_, "commit": at})
            print(record["name"], [(e["type"], e["alarm_s"]) for e in record["events"]], flush=True)


def report(heading: str, path: Path, table: list[str], write: bool) -> None:
    """Print a ledger's table as a BENCHMARKS.md section and, with `write`, put it there."""
    text = "\n".join([f"## {heading} (`{path.relative_to(ROOT)}`)", "", *table]) + "\n"
    print(text)
    if write:
        write_section(heading, text)
