"""What made a thrown-object false alarm on the simulator's confuser video.

Run: `python bench/thrown_false_alarms.py confusers-day-clear-40036` (a clip of the confuser
ledger, bench/ledgers/thrown_confusers.jsonl). The ledger keeps every false alarm's trajectory
(up to 64 points) under every detector that ran the clip; the clip's scene is built again from
its seed (bench.scenesim.build: no video is rendered or analysed, so this takes seconds), every
thing that moves in it is drawn alone at each instant of the trajectory, and the nearest to each
point is named with how far its drawn pixels lay from it (a cloud, drawn over much of the sky,
is near everything there). A track that ran from one thing into another (a shirt swinging at a
railing into a quilt below it, a leaf into an insect at the lens) shows as a change of name
down the listing; a point that nothing drawn lies near is the compression's or the noise's.

For a clip of `make bench-thrown`, or any rendered one, give its truth and events files:
`--truth out/confusers-dusk-clear.truth.json --events out/confusers-dusk-clear.events.json`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import ledger  # noqa: E402
from bench.scenesim import Mover, SceneSpec, build  # noqa: E402
from bench.thrown import LEDGER, confuser_spec  # noqa: E402

NEAR_PX = 40  # a thing drawn farther than this from a point is not named for it


def ledger_clip(name: str, minutes: float, size: str) -> tuple[SceneSpec, list[dict], dict[float, list[str]]]:
    """The spec of a ledger clip (from its name, as bench/thrown.py --ledger made it), every
    distinct event any of its records holds (the newest record's copy), and the commits whose
    records raised each, by alarm time."""
    m = re.fullmatch(r"confusers-(day|dusk|night)-(clear|rain)-(\d+)", name)
    if m is None:
        raise SystemExit(f"{name}: not a ledger clip name (confusers-<light>-<weather>-<seed>)")
    mine = [r for r in ledger.records(LEDGER) if r["name"] == name]
    if not mine:
        raise SystemExit(f"{name}: no record in {LEDGER}")
    events: dict[float, dict] = {}
    commits: dict[float, list[str]] = {}
    for r in mine:
        for e in r["events"]:
            key = round(e["alarm_s"], 2)
            events[key] = e
            commits.setdefault(key, []).append(r["commit"])
    light, weather, seed = m.group(1), m.group(2), int(m.group(3))
    return confuser_spec(light, weather, seed, minutes, size), [events[k] for k in sorted(events)], commits


def spec_from_truth(path: Path) -> SceneSpec:
    """The spec a rendered clip's truth file was made from."""
    raw = json.loads(path.read_text())["spec"]
    names = {f.name for f in fields(SceneSpec)}
    return SceneSpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items() if k in names})


def drawers(spec: SceneSpec) -> list[tuple[str, Callable[[np.ndarray, float], None]]]:
    """Every thing of the scene that moves, as (name, draw onto a BGR image at media time t)."""
    scene = build(spec)
    out: list[tuple[str, Callable[[np.ndarray, float], None]]] = []
    count: dict[str, int] = {}
    for m in scene.movers:
        count[m.kind] = count.get(m.kind, 0) + 1
        out.append((_name(m, count[m.kind]), m.draw))
    if scene.weather is not None:
        out.append((spec.weather, scene.weather))
    return out


def _name(m: Mover, k: int) -> str:
    """A mover's name in the listing: its kind, and when it starts for those that come and go."""
    return f"{m.kind} from {m.t0:.2f} s" if m.t0 > 0 else f"{m.kind} #{k}"


def nearest(
    things: list[tuple[str, Callable[[np.ndarray, float], None]]], spec: SceneSpec, t: float, x: float, y: float
) -> list[tuple[float, str]]:
    """(px, name) of the things drawn within NEAR_PX of (x, y) at time t, nearest first."""
    img = np.zeros((spec.height, spec.width, 3), np.uint8)
    x0, x1 = max(0, int(x) - NEAR_PX), min(spec.width, int(x) + NEAR_PX + 1)
    y0, y1 = max(0, int(y) - NEAR_PX), min(spec.height, int(y) + NEAR_PX + 1)
    found = []
    for name, draw in things:
        img[:] = 0
        draw(img, t)
        ys, xs = np.nonzero(img[y0:y1, x0:x1].max(axis=2))
        if len(xs):
            d = float(np.min(np.hypot(xs + x0 - x, ys + y0 - y)))
            if d <= NEAR_PX:
                found.append((d, name))
    return sorted(found)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("clip", nargs="?", help="a ledger clip name, e.g. confusers-day-clear-40036")
    ap.add_argument("--minutes", type=float, default=10.0, help="the ledger run's --confuser-minutes")
    ap.add_argument("--size", default="1280x720", help="the ledger run's --size")
    ap.add_argument("--truth", type=Path, help="a rendered clip's truth file (instead of a ledger clip)")
    ap.add_argument("--events", type=Path, help="its events file (bench/thrown.py writes <name>.events.json)")
    args = ap.parse_args()
    if args.truth is not None:
        if args.events is None:
            ap.error("--truth needs --events")
        spec, events, where = spec_from_truth(args.truth), json.loads(args.events.read_text()), str(args.events)
        commits: dict[float, list[str]] = {}
    elif args.clip:
        spec, events, commits = ledger_clip(args.clip, args.minutes, args.size)
        where = f"the ledger's records of {args.clip} (any detector)"
    else:
        ap.error("give a ledger clip name, or --truth and --events")
    events = [e for e in events if e.get("type", "thrown_object") == "thrown_object"]
    print(f"{len(events)} thrown-object event(s) in {where}")
    things = drawers(spec)
    for e in events:
        raised = commits.get(round(e["alarm_s"], 2))
        by = f", raised at {', '.join(f'`{c}`' for c in dict.fromkeys(raised))}" if raised else ""
        print(f"\nevent: release {e['start_s']:.2f} s, alarm {e['alarm_s']:.2f} s, {len(e['trajectory'])} points{by}")
        for t, x, y in e["trajectory"]:
            near = nearest(things, spec, t, x, y)
            named = ", ".join(f"{name} ({d:.0f} px)" for d, name in near[:3]) or "nothing drawn near"
            print(f"  {t:8.2f} s  ({x:6.1f}, {y:6.1f})  {named}")


if __name__ == "__main__":
    main()
