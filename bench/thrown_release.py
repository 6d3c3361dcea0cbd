"""Release-point accuracy without video: the facade-plane fit against the 3-D ballistic fit.

Throws are drawn as in `make bench-thrown` (bench.thrown.scene_spec: each scene with its own
camera and building), their true paths projected through the scene's camera with centroid
noise, and first seen some time after release, as lagged differencing first sees a slow
object. Each track is fitted both ways (edge.trajectory) and the floor named by the hand-height
rule of the detector; "chosen" is what the detector reports: the plane's release where the
3-D fit puts the release in view and on the plane (Ballistic.release_seen), the 3-D one
elsewhere. This isolates the fit from detection: `make bench-thrown` measures both.

    python bench/thrown_release.py --scenes 100 --first 0.3,1.0 --seconds 1.6
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.scenesim import STOREY_M, Camera, calibration, plan_throws  # noqa: E402
from bench.scenesim import Facade as SceneFacade  # noqa: E402
from bench.thrown import scene_spec  # noqa: E402
from edge.detectors.thrown import ThrownConfig, release_position  # noqa: E402
from edge.facade import Facade  # noqa: E402
from edge.trajectory import fit_ballistic, fit_fall  # noqa: E402

HAND_M = ThrownConfig().release_above_floor_m


def floor_of(facade: Facade, release_h: float, size: tuple[int, int]) -> int | None:
    return release_position(facade, 0.5, release_h, STOREY_M, HAND_M, size).floor


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", type=int, default=100)
    ap.add_argument("--seed", type=int, default=5000)
    ap.add_argument("--first", default="0.3,1.0", help="first seen this many s after release (uniform)")
    ap.add_argument("--seconds", type=float, default=1.6, help="track length; 0 = until fallen 2 storeys")
    ap.add_argument("--noise-px", type=float, default=0.7)
    ap.add_argument(
        "--width-known", action="store_true", help="calibrate with the true width_m (else a lens is assumed)"
    )
    args = ap.parse_args()
    lo, hi = (float(v) for v in args.first.split(","))
    rows: dict[str, list[tuple[int, int, int, int]]] = {}
    for k in range(args.scenes):
        spec = scene_spec("day", args.seed + k, 60, 6, ())
        rng = np.random.default_rng(spec.seed)
        cam = Camera(spec)
        calib = calibration(spec, cam)
        true_width = len(spec.units) * spec.unit_width_m
        facade = Facade(
            calib["corners"], tuple(calib["floors"]), calib["units"], true_width if args.width_known else None
        )
        size = (spec.width, spec.height)
        width_m = facade.width_metres(STOREY_M, size)
        camera = facade.camera_matrix(STOREY_M, size)
        for th in plan_throws(spec, cam, SceneFacade(spec, rng), calib, rng):
            i0 = int(rng.uniform(lo, hi) * spec.fps)
            fell = np.nonzero(th.path[:, 1] < th.path[0, 1] - 2 * STOREY_M)[0]
            if not len(fell):
                continue
            i1 = i0 + int(args.seconds * spec.fps) if args.seconds else fell[0] + 2
            seg = th.path[i0:i1]
            x, y, _ = cam.project(seg)
            xy = np.stack([x, y], 1) + rng.normal(0, args.noise_px, (len(seg), 2))
            inside = (xy[:, 0] > 0) & (xy[:, 0] < spec.width) & (xy[:, 1] > 0) & (xy[:, 1] < spec.height)
            if len(seg) < 6 or not inside.all():
                continue
            s = np.arange(len(seg)) / spec.fps
            h = facade.to_metres(xy, STOREY_M, width_m)[:, 1]
            _t, plane_h = fit_fall(s, h).release(s[0], h[0])
            fit = fit_ballistic(camera, s, xy)
            depth_h = fit.release[1] if fit is not None else plane_h
            # as the detector chooses: the plane where the fit says the release was in view
            chosen_h = plane_h if fit is None or fit.release_seen() else depth_h
            floors = [floor_of(facade, h, size) for h in (plane_h, depth_h, chosen_h)]
            rows.setdefault(th.truth["style"], []).append(
                [v for f in floors for v in (f == th.floor, f is not None and abs(f - th.floor) <= 1)]
            )
    print(
        f"first seen {lo}-{hi} s after release, {args.seconds or 'until 2 storeys'} s tracks, {args.noise_px} px noise"
    )
    print("style   throws   plane: exact  within 1   3-D: exact  within 1   chosen: exact  within 1")
    for style, r in [*rows.items(), ("all", [x for v in rows.values() for x in v])]:
        a = np.array(r, float).mean(0)
        print(f"{style:6s} {len(r):7d}   " + "   ".join(f"{a[k]:11.0%} {a[k + 1]:9.0%}" for k in (0, 2, 4)))


if __name__ == "__main__":
    main()
