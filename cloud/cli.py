"""`gridwatch-cloud`: serve the API and ingest, manage nodes and users, render the broker's
auth files, migrate the database, write the docs."""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from cloud.config import CloudConfig, load_cloud_config
from cloud.media import StoreUnavailable

if TYPE_CHECKING:
    from cloud.db import Database
from edge.yaml_source import ConfigError


def _load(path: str | None) -> CloudConfig:
    try:
        return load_cloud_config(path)
    except ConfigError as exc:
        print(f"config {path} is invalid:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        raise SystemExit(2) from None


@contextmanager
def _db(cfg: CloudConfig) -> Iterator[Database]:
    """The migrated database for one command; a registry or user error ends it with exit 1."""
    from cloud.auth import AuthError
    from cloud.db import Database
    from cloud.registry import RegistryError

    db = Database(cfg.database_url or "")
    try:
        db.migrate()
        yield db
    except (RegistryError, AuthError) as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(1) from None
    finally:
        db.dispose()


def _periodic(stop: threading.Event, every_s: float, fn, what: str) -> threading.Thread:
    def loop() -> None:
        while not stop.wait(every_s):
            try:
                fn()
            except Exception:
                logging.getLogger("cloud").exception("%s failed; will retry", what)

    t = threading.Thread(target=loop, name=what, daemon=True)
    t.start()
    return t


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from cloud.api import create_app
    from cloud.service import CloudService

    cfg = _load(args.config)
    if args.workers is not None:
        cfg.ingest.workers = args.workers
    if args.port is not None:
        cfg.http.port = args.port
    svc = CloudService(cfg)
    try:
        svc.media.check()
    except StoreUnavailable as exc:  # events still flow; uploads answer 503 until it is back
        logging.getLogger("cloud").error("media store unreachable: %s", exc)
    svc.start_ingest()
    svc.start_alerting()
    stop = threading.Event()
    _periodic(stop, cfg.media.sweep_interval_s, svc.sweep_media, "retention-sweep")
    _periodic(stop, 600, svc.ts.maintain, "timeseries-maintenance")
    try:
        uvicorn.run(create_app(svc), host=cfg.http.host, port=cfg.http.port, log_level="info", access_log=False)
    finally:
        stop.set()
        svc.stop()
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    cfg = _load(args.config)
    with _db(cfg):
        pass
    print(f"database at head: {cfg.database_url}")
    return 0


def cmd_nodes(args: argparse.Namespace) -> int:
    from cloud.registry import add_node, list_nodes, revoke_node

    with _db(_load(args.config)) as db:
        if args.action == "add":
            c = add_node(db, args.node, args.site, args.description or "")
            print(f"node {c.node_id} (site {c.site}) registered. These secrets are shown once:")
            print(
                f"  MQTT user name: {c.node_id}\n  MQTT_PASSWORD={c.mqtt_password}\n  GRIDWATCH_TOKEN={c.upload_token}"
            )
            print("Then run `gridwatch-cloud mosquitto-config` and reload Mosquitto (SIGHUP).")
        elif args.action == "revoke":
            revoke_node(db, args.node)
            print(f"node {args.node} revoked; run `gridwatch-cloud mosquitto-config` and reload Mosquitto")
        else:
            for n in list_nodes(db):
                state = "revoked" if n.revoked_at else (n.state or "never seen")
                print(f"{n.site:<16} {n.id:<24} {state:<10} {n.description}")
    return 0


def cmd_mosquitto_config(args: argparse.Namespace) -> int:
    from cloud.registry import write_mosquitto_files

    cfg = _load(args.config)
    user = cfg.broker.username or "gridwatch-cloud"
    if cfg.broker.password is None:
        print("broker.password is not set: the cloud needs its own MQTT password in the config", file=sys.stderr)
        return 2
    with _db(cfg) as db:
        paths = write_mosquitto_files(db, Path(args.out), {user: cfg.broker.password.get_secret_value()},
                                      cfg.broker.topic_prefix)  # fmt: skip
    print("wrote " + " and ".join(str(p) for p in paths) + "; reload Mosquitto (kill -HUP) to apply")
    return 0


def cmd_users(args: argparse.Namespace) -> int:
    from cloud.auth import Role, create_user

    with _db(_load(args.config)) as db:
        password = os.environ.get(args.password_env, "") if args.password_env else ""
        if not password:
            password = getpass.getpass(f"password for {args.username}: ")
        create_user(db, args.username, password, Role(args.role), args.grid or [], args.display_name or "")
        print(f"user {args.username} ({args.role}) created")
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    from cloud.media import open_media_store

    cfg = _load(args.config)
    media = open_media_store(cfg.media, cfg.data_dir)
    print(f"{args.config}: valid. database {cfg.database_url}, broker {cfg.broker.host}:{cfg.broker.port}, "
          f"time series {cfg.timeseries.backend}, media in {media.where}")  # fmt: skip
    try:
        media.check()
    except StoreUnavailable as exc:
        where = "media.s3: cannot reach the bucket" if cfg.media.backend == "s3" else "media.local_dir"
        print(f"{where}: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    from cloud.docs import write_docs

    for path in write_docs(Path(args.out)):
        print(f"wrote {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gridwatch-cloud", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config", "-c", help="cloud YAML (default: embedded defaults, data in ./var/cloud)")
        return p

    p = with_config(sub.add_parser("serve", help="run the API and the MQTT ingest"))
    p.add_argument("--workers", type=int, help="override ingest.workers")
    p.add_argument("--port", type=int, help="override http.port")
    p.set_defaults(fn=cmd_serve)
    with_config(sub.add_parser("migrate", help="bring the database schema to the newest version")).set_defaults(
        fn=cmd_migrate
    )
    with_config(sub.add_parser("check-config", help="validate a cloud config")).set_defaults(fn=cmd_check_config)

    nodes = sub.add_parser("nodes", help="the node registry").add_subparsers(dest="action", required=True)
    p = with_config(nodes.add_parser("add", help="register a node and print its secrets once"))
    p.add_argument("node")
    p.add_argument("--site", required=True)
    p.add_argument("--description")
    p.set_defaults(fn=cmd_nodes)
    with_config(nodes.add_parser("list")).set_defaults(fn=cmd_nodes)
    p = with_config(nodes.add_parser("revoke", help="lock a node out"))
    p.add_argument("node")
    p.set_defaults(fn=cmd_nodes)

    p = with_config(sub.add_parser("mosquitto-config", help="write Mosquitto's password file and ACL"))
    p.add_argument("--out", required=True, help="directory for `passwd` and `acl`")
    p.set_defaults(fn=cmd_mosquitto_config)

    users = sub.add_parser("users", help="console users").add_subparsers(dest="action", required=True)
    p = with_config(users.add_parser("add"))
    p.add_argument("username")
    p.add_argument("--role", required=True, choices=["admin", "operator", "grid_worker", "installer"])
    p.add_argument("--grid", action="append", help="site/building (repeat); for grid workers")
    p.add_argument("--display-name")
    p.add_argument("--password-env", help="read the password from this environment variable instead of a prompt")
    p.set_defaults(fn=cmd_users)

    p = sub.add_parser("docs", help="write docs/cloud-config-reference.md and docs/api/openapi.json")
    p.add_argument("--out", default="docs")
    p.set_defaults(fn=cmd_docs)

    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
