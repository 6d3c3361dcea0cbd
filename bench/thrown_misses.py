"""Why a throw of the thrown-object benchmark was missed or put on the wrong floor.

Run: `python bench/thrown_misses.py day 0` (condition and scene index of `make bench-thrown`,
same seeds and size). The scene is rendered once into var/bench-misses and reused. Every
throw is listed with the event it matched; for a miss or a wrong floor, every track the
detector had on its true path (within 4 px at the same instants) follows, with when it was
seen, its points, and what `ThrownDetector.judge` says about it and about the track joined to
its parents. That is where a miss becomes a reason: a track never started (the object is
below the frame threshold), started late, broke, or failed a named test.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.scenesim import render  # noqa: E402
from bench.thrown import CONDITIONS, match, points_on_path, size_bin, throw_scene  # noqa: E402
from edge.analyze import analyze_file  # noqa: E402
from edge.config import load_config  # noqa: E402
from edge.detectors.thrown import ThrownDetector, Track  # noqa: E402
from edge.trajectory import G  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NEAR_PX = 4.0


def record_tracks() -> tuple[list[ThrownDetector], dict[int, Track]]:
    """Keep every track any ThrownDetector makes from now on (they are mutable: the
    references end up holding each track's whole path)."""
    detectors: list[ThrownDetector] = []
    tracks: dict[int, Track] = {}
    process = ThrownDetector.process

    def recording(self: ThrownDetector, frame):  # type: ignore[no-untyped-def]
        if self not in detectors:
            detectors.append(self)
        out = process(self, frame)
        for tr in self._tracks:
            tracks.setdefault(id(tr), tr)
        return out

    ThrownDetector.process = recording  # type: ignore[method-assign]
    return detectors, tracks


def on_path(tr: Track, throw: dict, fps: float, scale: float) -> int:
    """How many of the track's points (analysis px, `scale` of the source) lie within NEAR_PX
    (plus a frame of the object's motion) of the throw at the same instant."""
    return points_on_path(np.array(tr.t), np.array(tr.x) / scale, np.array(tr.y) / scale, throw, fps, NEAR_PX)


def bench_scene(args: argparse.Namespace) -> Path:
    """The site.yaml of a scene of `make bench-thrown`, rendered unless it already is."""
    name, spec = throw_scene(args.condition, args.scene, args)
    name = f"{name}-{spec.seed}-{args.size}"
    if not (args.out / f"{name}.mp4").exists():
        render(spec, args.out, name)
    return args.out / f"{name}.yaml"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("condition", nargs="?", choices=CONDITIONS)
    ap.add_argument("scene", nargs="?", type=int, default=0, help="scene index within the condition (0-based)")
    ap.add_argument("--site", type=Path, help="a scene already rendered: its site.yaml (the truth beside it)")
    ap.add_argument("--scenes", type=int, default=4, help="scenes per condition in the benchmark run")
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--seconds", type=float, default=36.0)
    ap.add_argument("--throws", type=int, default=6)
    ap.add_argument("--all", action="store_true", help="list tracks for every throw, not only the failures")
    ap.add_argument("--out", type=Path, default=ROOT / "var" / "bench-misses")
    args = ap.parse_args()
    if args.site is not None:
        site = args.site
    elif args.condition is not None:
        site = bench_scene(args)
    else:
        ap.error("name a condition and scene, or --site")
    truth = json.loads(site.with_suffix(".truth.json").read_text())
    detectors, tracks = record_tracks()
    cfg = load_config(site).cameras[0]
    events = [e for e in analyze_file(cfg, cfg.source).events if e["type"] == "thrown_object"]
    matches, false = match(truth, events)
    det, fps = detectors[0], float(truth["spec"]["fps"])
    for m in matches:
        th, ev = m.throw, m.event
        line = (
            f"throw {th['id']} {th['object']} ({th['style']}, {size_bin(th)}, {th['size_px']} px) "
            f"released {th['release_t']:.2f} s from floor {th['floor']} unit {th['unit']}"
        )
        if ev is None:
            print(f"{line}: MISSED")
        else:
            print(
                f"{line}: event from {ev['start_s']:.2f} s, floor {ev['origin']['floor']} unit "
                f"{ev['origin']['unit']}, alarm {ev['alarm_s']:.2f} s ({ev.get('note')})"
            )
        if ev is not None and ev["origin"]["floor"] == th["floor"] and not args.all:
            continue
        for tr in sorted(tracks.values(), key=lambda tr: tr.t[0]):
            near = on_path(tr, th, fps, det.scale)
            if near < 2:
                continue
            own = det.judge(tr)
            join = det.longest_join(tr)  # as ThrownDetector._confirm
            print(
                f"    track {tr.id}: {tr.t[0] - th['release_t']:+.2f} to {tr.t[-1] - th['release_t']:+.2f} s "
                f"after release, {len(tr.t)} points ({near} on the path)"
                + (f", confirmed as {tr.key}" if tr.key else "")
            )
            print(f"        judged alone: {verdict_text(own)}")
            if join is not None:
                print(f"        joined to its ancestors ({len(join[0].t)} points): {verdict_text(join[1])}")
            elif tr.parent is not None:
                print(f"        joined to its parent: {verdict_text(det.judge(tr.lineage(1)))}")
    for e in false:
        print(f"false alarm: event from {e['start_s']:.2f} s, floor {e['origin']['floor']} ({e.get('note')})")


def verdict_text(v: object) -> str:
    if isinstance(v, str):
        return v
    return f"a throw ({v.kind}, {v.fit.accel / G:.2f} g, released {v.release_t:.2f} s at {v.release_h:.1f} m)"  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
