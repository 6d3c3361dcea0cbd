"""Smoke and fire benchmark: image F1, time to alarm, clip recall, false alarms, model cost.

Run: `make bench-smoke-fire` (writes its section of docs/BENCHMARKS.md).

- Image level: the default model on the held-out quarter of ../shared/data/fire-images (the
  same seeded split the trainer holds out), whole photos letterboxed: fire precision,
  recall, F1.
- Video level, through `edge.analyze.analyze_file` (the code behind `gridwatch-edge
  analyze`) with default settings:
  - smoke composites: the real plume rising from a balcony of a simulated facade (day,
    dusk, night; white, grey and dark smoke) on seeds the trainer never rendered. Time to
    alarm is counted from the *visible onset* (bench.smokesim); an alarm before it is a
    false alarm.
  - the real fire clips of ../shared/data/fire-video (never used in training), fire from
    their first frame: time to the first smoke or fire alarm.
  - confuser-only clips (steam puffs, fog, red clothing, sun glare, laundry and quilts in
    wind, clouds, lit windows, headlights, trees), six 5-minute scenes of each set by
    default: every smoke or fire event is a false alarm; the per-24 h figure is the count
    scaled from the hours measured.
- Cost: one inference at the model's input size on one thread, a batch of 24 tiles, and
  the detector's CPU per camera (analyze with the detector minus analyze without, same file,
  same process).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import ledger  # noqa: E402
from bench.report import commit, write_section  # noqa: E402
from bench.smokesim import DATA, SmokeSpec, photo_split, prf, render_smoke  # noqa: E402
from edge.analyze import analyze_file  # noqa: E402
from edge.config import load_config  # noqa: E402
from edge.onnx_model import ModelConfig, OnnxModel  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LIGHTS = ("day", "day", "dusk", "night")
COLOURS = ((215, 215, 215), (140, 140, 140), (70, 70, 75))
CONFUSER_SETS = {
    "day": ("steam", "red_clothing", "glare", "laundry", "clouds", "tree", "headlights"),
    "dusk": ("steam", "red_clothing", "laundry", "window_lights", "headlights"),
    "night": ("steam", "laundry", "window_lights", "headlights"),
    "fog": ("fog", "laundry"),
}
FIRE_CLIPS = ("house6.mp4", "lab_fire_spread.mp4")
# what decides whether a clip raises a smoke or fire event: a ledger record counts only while these are unchanged
DETECTOR_FILES = (
    "edge/detectors/smoke_fire.py",
    "edge/detectors/base.py",
    "edge/onnx_model.py",
    "models/smoke_fire.onnx",
)
LEDGER = ROOT / "bench" / "ledgers" / "smoke_fire_confusers.jsonl"
# the long run's first scene: scenes 10 and 11 would reuse the composites' seeds 7000-7111
LEDGER_FIRST_SCENE = 12


def smoke_events(events: list[dict]) -> list[dict]:
    return [e for e in events if e["type"] in ("smoke", "fire")]


def run_composite(job: tuple[int, Path]) -> dict:
    k, out = job
    rng = np.random.default_rng(7000 + k)
    spec = SmokeSpec(
        seed=7000 + k,
        light=LIGHTS[k % len(LIGHTS)],
        seconds=40,
        onset_s=float(rng.uniform(4, 12)),
        colour=COLOURS[k % len(COLOURS)],
        opacity=float(rng.uniform(0.55, 0.85)),
        confusers=("laundry",) if k % 2 else (),
    )
    name = f"smoke-{k}"
    truth = render_smoke(spec, out, name)
    cfg = load_config(out / f"{name}.yaml").cameras[0]
    report = analyze_file(cfg, cfg.source)
    (out / f"{name}.mp4").unlink()
    events = smoke_events(report.events)
    visible = truth["smoke"]["visible_s"]
    early = [e for e in events if visible is None or e["alarm_s"] < visible - 0.5]
    hits = [e for e in events if visible is not None and e["alarm_s"] >= visible - 0.5]
    return {
        "name": name,
        "light": spec.light,
        "colour": spec.colour[0],
        "visible_s": visible,
        "latency": hits[0]["alarm_s"] - visible if hits else None,
        "early_alarms": len(early),
        "events": events,
        "video_s": report.duration_s,
    }


def run_fire_clip(job: tuple[str, Path]) -> dict:
    clip, out = job
    site = {
        "site": "bench",
        "node": "bench",
        "cameras": [
            {
                "name": Path(clip).stem,
                "source": str(DATA / "fire-video" / clip),
                "building": "1",
                "detectors": {"smoke_fire": {}},
            }
        ],
    }
    path = out / f"{Path(clip).stem}.yaml"
    path.write_text(yaml.safe_dump(site))
    cfg = load_config(path).cameras[0]
    report = analyze_file(cfg, cfg.source)
    events = smoke_events(report.events)
    fire = [e for e in events if e["type"] == "fire"]
    return {
        "name": clip,
        "latency": events[0]["alarm_s"] if events else None,
        "fire_latency": fire[0]["alarm_s"] if fire else None,
        "events": events,
        "video_s": report.duration_s,
    }


def run_confusers(job: tuple[str, int, float, Path]) -> dict:
    key, seed, seconds, out = job
    spec = SmokeSpec(
        seed=seed, light="day" if key == "fog" else key, seconds=seconds, smoke=False, confusers=CONFUSER_SETS[key]
    )
    name = f"confusers-{key}-{seed}"
    render_smoke(spec, out, name)
    cfg = load_config(out / f"{name}.yaml").cameras[0]
    report = analyze_file(cfg, cfg.source)
    (out / f"{name}.mp4").unlink()
    return {"name": name, "set": key, "events": smoke_events(report.events), "video_s": report.duration_s}


def confuser_jobs(minutes: float, scenes: int, out: Path, first: int = 0) -> list[tuple[str, int, float, Path]]:
    """`scenes` clips of each confuser set from scene `first` on; scene s of set i has seed
    6000 + 100 s + i, so a run with more scenes keeps the clips of a run with fewer, and one
    from a later `first` adds clips no run before it saw."""
    return [
        (key, 6000 + 100 * s + i, minutes * 60, out)
        for s in range(first, first + scenes)
        for i, key in enumerate(CONFUSER_SETS)
    ]


def run_ledger(minutes: float, scenes: int, out: Path, workers: int) -> None:
    """Render and analyse the next `scenes` scenes of every confuser set that the ledger lacks
    for today's detector, appending each clip as it finishes; then print the ledger's table."""

    def named_jobs() -> Iterator[tuple[str, tuple]]:
        for s in itertools.count(LEDGER_FIRST_SCENE):
            for job in confuser_jobs(minutes, 1, out, s):
                yield f"confusers-{job[0]}-{job[1]}", job

    ledger.extend(LEDGER, DETECTOR_FILES, named_jobs(), scenes * len(CONFUSER_SETS), run_confusers, workers)
    print("\n".join(ledger_table()))


def ledger_table() -> list[str]:
    """The confuser table over every ledger clip made with today's detector files."""
    records = ledger.load(LEDGER, ledger.fingerprint(DETECTOR_FILES))
    commits = sorted({r["commit"] for r in records})
    return [
        *confuser_table(records),
        "",
        f"From the ledger {LEDGER.relative_to(ROOT)}: {len(records)} clips, rendered at commits "
        f"{', '.join(f'`{c}`' for c in commits) or 'none'}, all with today's detector files ({', '.join(DETECTOR_FILES)}).",
    ]


def image_metrics(seed: int) -> dict:
    """The shipped ONNX on the trainer's held-out photos, judged as the trainer judges them."""
    model = OnnxModel(ModelConfig(path="smoke_fire.onnx"))
    split = photo_split(seed)["test"]
    fire_col = (model.names or []).index("fire")
    pred, truth = [], []
    for label in ("fire", "normal"):
        for p in split[label]:
            pred.append(model.classify([cv2.imread(str(p))])[0, fire_col] >= 0.5)
            truth.append(label == "fire")
    tr = np.array(truth)
    return {**prf(np.array(pred), tr), "n_fire": int(tr.sum()), "n_normal": int((~tr).sum())}


def model_cost() -> dict:
    model = OnnxModel(ModelConfig(path="smoke_fire.onnx", threads=1))
    w, h = model.input_size
    rng = np.random.default_rng(0)
    tiles = [rng.integers(0, 255, (h, w, 3), dtype=np.uint8) for _ in range(24)]
    model.classify(tiles[:1])

    def per_call(batch: list[np.ndarray], n: int) -> float:
        t0 = time.perf_counter()
        for _ in range(n):
            model.classify(batch)
        return (time.perf_counter() - t0) / n * 1000

    path = ROOT / "models" / "smoke_fire.onnx"
    return {
        "input": f"{w}x{h}",
        "one_ms": statistics.median(per_call(tiles[:1], 50) for _ in range(3)),
        "batch24_ms": statistics.median(per_call(tiles, 5) for _ in range(3)),
        "size_mb": path.stat().st_size / 1e6,
    }


def detector_cpu(tmp: Path) -> dict:
    """CPU seconds per video second of the detector alone at 1080p25: analyze with it minus without."""
    spec = SmokeSpec(seed=77, width=1920, height=1080, seconds=20, onset_s=3, confusers=("laundry", "clouds"))
    render_smoke(spec, tmp, "cost")
    cfg = load_config(tmp / "cost.yaml").cameras[0]
    bare = cfg.model_copy(update={"detectors": type(cfg.detectors)()})
    with_det, without = [], []
    for _ in range(3):
        for c, acc in ((cfg, with_det), (bare, without)):
            t0 = time.process_time()
            rep = analyze_file(c, c.source)
            acc.append((time.process_time() - t0) / rep.duration_s)
    return {"with": statistics.median(with_det), "without": statistics.median(without)}


def false_alarms(clips: list[dict]) -> str:
    events = [e for c in clips for e in c["events"]]
    fire = sum(e["type"] == "fire" for e in events)
    return f"{len(events)} ({len(events) - fire} + {fire})"


def pct(num: int, den: int) -> str:
    return f"{100 * num / den:.0f} % ({num}/{den})" if den else "n/a"


def quantile(values: list[float], q: float) -> float:
    return float(np.quantile(values, q)) if values else float("nan")


def markdown(img: dict, comps: list[dict], fires: list[dict], conf: list[dict], cost: dict, cpu: dict, args) -> str:
    lines = [
        "## Smoke and fire (`make bench-smoke-fire`)",
        "",
        f"Commit `{commit()}`, {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; default model "
        f"`models/smoke_fire.onnx` and default detector settings (sensitivity 5, 2 Hz); composites at 1280x720 25 fps H.264, seeds from 7000.",
        "",
        "| image level (held-out photos) | precision | recall | F1 | target |",
        "|---|---|---|---|---|",
        f"| fire, {img['n_fire']} fire + {img['n_normal']} no-fire photos | {img['precision']:.2f} | {img['recall']:.2f} | {img['f1']:.2f} | F1 >= 0.90 |",
        "",
        "| video | clips | recall | time to alarm (median / p95) | early alarms | target |",
        "|---|---|---|---|---|---|",
    ]
    by_light: dict[str, list[dict]] = {}
    for c in comps:
        by_light.setdefault(c["light"], []).append(c)
    for light, group in [("all", comps), *sorted(by_light.items())]:
        lat = [c["latency"] for c in group if c["latency"] is not None]
        lines.append(
            f"| smoke composites, {light} | {len(group)} | {pct(len(lat), len(group))} | "
            f"{quantile(lat, 0.5):.1f} s / {quantile(lat, 0.95):.1f} s | {sum(c['early_alarms'] for c in group)} | "
            "recall >= 95 %, <= 10 s / 20 s |"
        )
    for f in fires:
        first = f"{f['latency']:.1f} s" if f["latency"] is not None else "none"
        fire = f"{f['fire_latency']:.1f} s" if f["fire_latency"] is not None else "no fire event"
        lines.append(
            f"| real fire: {f['name']} | 1 | {'yes' if f['latency'] is not None else 'no'} | first alarm {first}, fire {fire} | - | fire <= 5 s |"
        )
    lines += [
        "",
        *confuser_table(conf),
        "",
        "| cost | measured | target |",
        "|---|---|---|",
        f"| model size | {cost['size_mb']:.2f} MB | <= 10 MB |",
        f"| one inference at {cost['input']}, one thread | {cost['one_ms']:.2f} ms | <= 15 ms |",
        f"| a batch of 24 tiles, one thread | {cost['batch24_ms']:.1f} ms | |",
        f"| detector CPU per 1080p25 camera (analyze with it minus without; decode not counted) | {100 * (cpu['with'] - cpu['without']):.1f} % of one core | |",
    ]
    return "\n".join(lines) + "\n"


def confuser_table(conf: list[dict]) -> list[str]:
    """False alarms per confuser set and in all, with the hours they were counted over."""
    hours = sum(c["video_s"] for c in conf) / 3600
    n = sum(len(c["events"]) for c in conf)
    lines = [
        "| confuser-only video | hours | false alarms (smoke + fire) | per camera per 24 h | target |",
        "|---|---|---|---|---|",
    ]
    for key, kinds in CONFUSER_SETS.items():
        group = [c for c in conf if c["set"] == key]
        lines.append(
            f"| {key}: {', '.join(kinds)} ({len(group)} clips) | {sum(c['video_s'] for c in group) / 3600:.2f} | "
            f"{false_alarms(group)} | | |"
        )
    lines += [
        f"| all | {hours:.2f} | {false_alarms(conf)} | {n / hours * 24 if hours else float('nan'):.1f} | <= 1 |",
        "",
        f"A false-alarm rate below one per {hours:.2f} h cannot be told from zero; the 24 h figure is the count scaled.",
    ]
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--composites", type=int, default=12)
    ap.add_argument("--confuser-minutes", type=float, default=5.0, help="per confuser clip")
    ap.add_argument("--confuser-scenes", type=int, default=6, help="clips of each confuser set")
    ap.add_argument("--confuser-from", type=int, default=0, help="the first confuser scene (later ones: unseen clips)")
    ap.add_argument(
        "--confusers-only", action="store_true", help="only the confuser clips: print their false alarms, write nothing"
    )
    ap.add_argument(
        "--ledger",
        type=int,
        metavar="SCENES",
        help=f"add SCENES scenes of each confuser set to {LEDGER.relative_to(ROOT)} (those it lacks), then print its table",
    )
    ap.add_argument("--ledger-table", action="store_true", help="print the ledger's confuser table and stop")
    ap.add_argument("--seed", type=int, default=0, help="the trainer's split seed")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--out", type=Path, default=ROOT / "var" / "bench-smoke-fire")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.ledger_table:
        ledger.report("Confuser ledger: smoke and fire", LEDGER, ledger_table(), args.write)
        return
    if args.ledger:
        run_ledger(args.confuser_minutes, args.ledger, args.out, args.jobs)
        return
    t0 = time.time()
    jobs = confuser_jobs(args.confuser_minutes, args.confuser_scenes, args.out, args.confuser_from)
    if args.confusers_only:
        with ProcessPoolExecutor(args.jobs) as pool:
            conf = list(pool.map(run_confusers, jobs))
        print(f"done in {time.time() - t0:.0f} s; commit {commit()}", file=sys.stderr)
        print("\n".join(confuser_table(conf)))
        for c in conf:
            print(c["name"], [(e["type"], e["alarm_s"]) for e in c["events"]])
        return
    img = image_metrics(args.seed)
    with ProcessPoolExecutor(args.jobs) as pool:
        comps = pool.map(run_composite, [(k, args.out) for k in range(args.composites)])
        fires = pool.map(run_fire_clip, [(c, args.out) for c in FIRE_CLIPS])
        conf = pool.map(run_confusers, jobs)
        comps, fires, conf = list(comps), list(fires), list(conf)
    cost = model_cost()
    with tempfile.TemporaryDirectory() as tmp:
        cpu = detector_cpu(Path(tmp))
    print(f"done in {time.time() - t0:.0f} s", file=sys.stderr)
    text = markdown(img, comps, fires, conf, cost, cpu, args)
    print(text)
    (args.out / "summary.json").write_text(
        json.dumps(
            {"image": img, "composites": comps, "fires": fires, "confusers": conf, "cost": cost, "cpu": cpu}, indent=1
        )
    )
    if args.write:
        write_section("Smoke and fire", text)


if __name__ == "__main__":
    main()
