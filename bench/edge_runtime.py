"""Edge runtime benchmark: CPU per camera for decode alone at 1080p25, and ring memory.

Run: `make bench-edge` (writes the table into docs/BENCHMARKS.md). Figures are ratios to
real time (CPU seconds per second of video), so they hold on a noisy machine better than
wall-clock times; each is the median of several runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from report import commit, write_section

from edge.ring import PacketRing, ring_bound_bytes
from edge.sample import write_sample
from edge.stream import Session

ROOT = Path(__file__).resolve().parent.parent


def decode_cpu(path: Path, gray_width: int | None) -> float:
    """CPU seconds per video second to demux and decode (and convert to grey when asked)."""
    session = Session(str(path), realtime=False, loop=False)
    cpu0 = time.process_time()
    frames = 0
    for _pkt, decoded in session.packets():
        for df in decoded:
            frames += 1
            if gray_width:
                df.frame.to_ndarray(
                    format="gray", width=gray_width, height=gray_width * df.frame.height // df.frame.width
                )
    cpu = time.process_time() - cpu0
    session.close()
    duration = frames / 25.0
    return cpu / duration


def ring_memory(path: Path, pre_s: float) -> tuple[int, float]:
    """Peak ring bytes over the file, and the stream's bitrate in Mbit/s."""
    ring = PacketRing(pre_s, 1 << 30)
    session = Session(str(path), realtime=False, loop=False)
    total, last_t = 0, 0.0
    for pkt, _ in session.packets():
        if pkt is None:
            continue
        ring.append(pkt)
        total += len(pkt.data)
        last_t = max(last_t, pkt.t)
    session.close()
    return ring.peak_bytes, total * 8 / 1e6 / (last_t + 1 / 25)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="update docs/BENCHMARKS.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        clip = write_sample(Path(tmp) / "1080p25.mp4", seconds=args.seconds, width=1920, height=1080, gop=50,
                            bitrate=4_000_000, noise=4.0)  # fmt: skip
        decode_only = statistics.median(decode_cpu(clip, None) for _ in range(args.runs))
        with_gray = statistics.median(decode_cpu(clip, 960) for _ in range(args.runs))
        peak, mbit = ring_memory(clip, 20.0)
    bound = ring_bound_bytes(20.0, 2.0, mbit)
    rows = [
        (
            f"decode alone, 1080p25 H.264 (~{mbit:.1f} Mbit/s)",
            f"{decode_only:.3f} CPU-s per video-s",
            f"{100 * decode_only:.0f} % of one core per camera",
        ),
        (
            "decode + grey 960x540 for detectors",
            f"{with_gray:.3f} CPU-s per video-s",
            f"{100 * with_gray:.0f} % of one core per camera",
        ),
        (
            "ring, pre_s 20, GOP 2 s",
            f"{peak / 1e6:.2f} MB peak at {mbit:.2f} Mbit/s",
            f"{peak / 1e6 / mbit:.2f} MB per Mbit/s (bound {bound / 1e6 / mbit:.2f})",
        ),
    ]
    table = [
        "## Edge runtime (`make bench-edge`)",
        "",
        f"Commit `{commit()}`, {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{args.seconds:.0f} s synthetic 1080p25 facade with sensor noise, median of {args.runs} runs.",
        "",
        "| what | measured | per camera |",
        "|---|---|---|",
        *[f"| {a} | {b} | {c} |" for a, b, c in rows],
        "",
    ]
    text = "\n".join(table)
    print(text)
    if args.write:
        write_section("Edge runtime", text)


if __name__ == "__main__":
    main()
