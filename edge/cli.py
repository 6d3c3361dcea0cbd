"""`gridwatch-edge`: run the agent, check a config, analyse recordings, write the docs."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from edge.yaml_source import ConfigError


def _load(path: str):
    from edge.config import load_config

    try:
        return load_config(path)
    except ConfigError as exc:
        print(f"config {path} is invalid:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_check_config(args: argparse.Namespace) -> int:
    from edge.config import is_url

    cfg = _load(args.config)
    print(f"{args.config}: valid. site {cfg.site}, node {cfg.node}, broker {cfg.broker.host}:{cfg.broker.port}")
    for cam in cfg.cameras:
        detectors = [name for name, section in cam.detectors if section is not None] or ["none"]
        line = f"  camera {cam.name}: building {cam.building}, detectors {', '.join(detectors)}"
        if cam.facade:
            lo, hi = cam.facade.floors
            units = ", ".join(cam.facade.units) if cam.facade.units else "not set"
            line += f", floors {lo}-{hi} ({hi - lo + 1} storeys), units {units}"
        else:
            line += ", no facade calibration (floors and units will not be named)"
        if cam.masks:
            line += f", {len(cam.masks)} mask(s)"
        print(line)
        if cam.detectors.smoke_fire is not None:  # loaded and checked by the config's validation
            from edge.onnx_model import open_model

            m = open_model(cam.detectors.smoke_fire.model)
            w, h = m.input_size
            print(f"    smoke_fire model {m.cfg.file()}: {m.layout} {w}x{h}, classes {', '.join(m.names or [])}")
        if not is_url(cam.source) and not Path(cam.source).exists():
            print(f"    warning: source file {cam.source} does not exist", file=sys.stderr)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from edge.agent import Agent

    cfg = _load(args.config)
    agent = Agent(cfg, Path(args.config))
    restart = agent.run_forever()
    if restart:
        logging.getLogger("edge").info("restarting with the new config")
        os.execv(sys.executable, [sys.executable, "-m", "edge.cli", *sys.argv[1:]])
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    from edge.analyze import analyze_file, print_report
    from edge.stream import SourceError

    cfg = _load(args.config)
    try:
        cam = cfg.camera(args.camera) if args.camera else cfg.cameras[0]
    except KeyError as exc:
        print(exc.args[0], file=sys.stderr)
        return 2
    failed = 0
    progress = sys.stderr if sys.stderr.isatty() and not args.quiet else None
    for video in args.video:
        try:
            report = analyze_file(cam, video, progress)
        except SourceError as exc:
            print(f"skipping {video}: {exc}", file=sys.stderr)
            failed += 1
            continue
        print_report(video, report, args.json)
    return 1 if failed else 0


def cmd_docs(args: argparse.Namespace) -> int:
    from edge.docs import write_docs

    for path in write_docs(Path(args.out)):
        print(path)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gridwatch-edge", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="run the agent for a site config")
    p.add_argument("config")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("check-config", help="validate a site config without starting")
    p.add_argument("config")
    p.set_defaults(func=cmd_check_config)

    p = sub.add_parser("analyze", help="run the detectors over recordings as fast as possible")
    p.add_argument("video", nargs="+")
    p.add_argument("--config", required=True)
    p.add_argument("--camera", help="camera whose settings to use (default: the first)")
    p.add_argument("--json", action="store_true", help="one JSON object per event on stdout")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("docs", help="write the config reference and contract JSON Schema")
    p.add_argument("--out", default="docs")
    p.set_defaults(func=cmd_docs)

    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
