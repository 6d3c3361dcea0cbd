"""Local HTTP servers standing in for the chat vendors' clouds (which tests cannot reach): each
records the exact request (path, raw query, headers, body) and answers what the vendor answers,
so the tests check what would go over the wire."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Request:
    at: float
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """A vendor endpoint on 127.0.0.1; `answer` decides the reply to each request: a JSON
    object, or bytes sent as they are (`text/csv`, as InfluxDB answers a query)."""

    def __init__(self, answer: Callable[[Request], tuple[int, dict | bytes]] | dict | None = None) -> None:
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        if answer is None or isinstance(answer, dict):
            fixed = answer if isinstance(answer, dict) else {"errcode": 0, "errmsg": "ok"}
            self.answer: Callable[[Request], tuple[int, dict | bytes]] = lambda r: (200, fixed)
        else:
            self.answer = answer
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                url = urlsplit(self.path)
                req = Request(time.time(), url.path, url.query, {k.lower(): v for k, v in self.headers.items()}, body)
                with receiver._lock:
                    receiver.requests.append(req)
                status, reply = receiver.answer(req)
                raw = reply if isinstance(reply, bytes) else json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/csv" if isinstance(reply, bytes) else "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def got(self) -> list[Request]:
        with self._lock:
            return list(self.requests)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
