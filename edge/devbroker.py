"""Start a private Mosquitto from configs/mosquitto/ on a free port: for tests and `make demo`.

Never the machine's own service on 1883: each run gets its own port, password file,
ACL, persistence directory and (optionally) a TLS listener with a CA made on the spot.
"""

from __future__ import annotations

import getpass
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from contract import broker_auth

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs" / "mosquitto"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def make_tls(dir_: Path) -> dict[str, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1/localhost, made with openssl."""
    dir_.mkdir(parents=True, exist_ok=True)
    ca_key, ca, key, csr, crt = (dir_ / n for n in ("ca.key", "ca.crt", "server.key", "server.csr", "server.crt"))
    ext = dir_ / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=gridwatch test CA",
        "-keyout", str(ca_key), "-out", str(ca))  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(csr))
    run("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
        "-days", "2", "-extfile", str(ext), "-out", str(crt))  # fmt: skip
    return {"ca": ca, "cert": crt, "key": key}


@dataclass
class DevBroker:
    """A running Mosquitto. `users` maps user name to password; cloud users get full access."""

    workdir: Path
    users: dict[str, str]
    cloud_users: tuple[str, ...] = ("cloud",)
    prefix: str = "gridwatch"
    tls: bool = False
    port: int = field(default_factory=free_port)
    tls_port: int | None = None
    tls_files: dict[str, Path] = field(default_factory=dict)
    proc: subprocess.Popen | None = None
    auth_files: tuple[str, str] | None = None  # (password file, ACL) rendered elsewhere, e.g. by the cloud

    def _write_auth(self) -> tuple[Path, Path]:
        pw, acl = self.workdir / "passwd", self.workdir / "acl"
        if self.auth_files is None:
            users = ((u, broker_auth.password_hash(p)) for u, p in self.users.items())
            pw_text, acl_text = broker_auth.password_file(users), broker_auth.acl(self.prefix, self.cloud_users)
        else:
            pw_text, acl_text = self.auth_files
        for path, text in ((pw, pw_text), (acl, acl_text)):
            path.write_text(text)
            path.chmod(0o600)
        return pw, acl

    def reload_auth(self, auth_files: tuple[str, str]) -> None:
        """Install a new password file and ACL and make the running broker re-read them."""
        self.auth_files = auth_files
        self._write_auth()
        if self.proc:
            self.proc.send_signal(signal.SIGHUP)
            time.sleep(0.3)

    def write_config(self) -> Path:
        self.workdir.mkdir(parents=True, exist_ok=True)
        data = self.workdir / "data"
        data.mkdir(exist_ok=True)
        pw, acl = self._write_auth()
        tls_listener = ""
        if self.tls:
            self.tls_files = make_tls(self.workdir / "tls")
            self.tls_port = self.tls_port or free_port()
            tls_listener = (
                f"listener {self.tls_port} 127.0.0.1\ncafile {self.tls_files['ca']}\n"
                f"certfile {self.tls_files['cert']}\nkeyfile {self.tls_files['key']}\n"
            )
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(
            (CONFIG_DIR / "mosquitto.conf.template")
            .read_text()
            .format(
                password_file=pw,
                acl_file=acl,
                data_dir=data,
                port=self.port,
                bind="127.0.0.1",
                user=getpass.getuser(),
                tls_listener=tls_listener,
            )
        )
        return conf

    def start(self) -> DevBroker:
        if shutil.which("mosquitto") is None:
            raise RuntimeError("mosquitto is not installed (make installs it: apt-get install mosquitto)")
        conf = self.write_config()
        self.proc = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_port(self.port)
            if self.tls_port:
                wait_port(self.tls_port)
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"mosquitto did not start: {self.log_tail()}") from None
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.proc = subprocess.Popen(
            ["mosquitto", "-c", str(self.workdir / "mosquitto.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        wait_port(self.port)

    def log_tail(self, n: int = 20) -> str:
        log = self.workdir / "data" / "mosquitto.log"
        return "\n".join(log.read_text().splitlines()[-n:]) if log.exists() else "(no log)"
