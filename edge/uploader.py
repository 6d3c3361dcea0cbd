"""Upload clips and snapshots to the cloud: HTTP PUT with the node's token, retried with
backoff until the cloud confirms. The cloud checks the SHA-256 against the event; the
node sends it in a header too so a proxy cannot swap the body unnoticed."""

from __future__ import annotations

import logging
import threading

import httpx

from edge.outbox import Outbox, UploadItem

log = logging.getLogger(__name__)

RETRY_START_S = 5.0
RETRY_CAP_S = 300.0


def retry_delay(attempts: int) -> float:
    return min(RETRY_START_S * 2**attempts, RETRY_CAP_S)


class Uploader:
    def __init__(self, outbox: Outbox, base_url: str | None, token: str | None) -> None:
        self.outbox = outbox
        self.base_url = base_url.rstrip("/") + "/" if base_url else None
        self.token = token
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="uploader", daemon=True)

    def start(self) -> None:
        if self.base_url is None:
            log.warning("no cloud.upload_url configured: clips and snapshots stay on this node")
            return
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        with httpx.Client(timeout=httpx.Timeout(30.0, connect=5.0), headers=headers) as http:
            while not self._stop.is_set():
                items = self.outbox.uploads_due()
                for item in items:
                    if self._stop.is_set():
                        return
                    self._upload(http, item)
                self._stop.wait(0.5 if items else 2.0)

    def _upload(self, http: httpx.Client, item: UploadItem) -> None:
        url = f"{self.base_url}{item.url_path}"
        try:
            body = item.file.read_bytes()
        except FileNotFoundError:
            log.error("upload %s: local file %s is gone; giving up on it", url, item.file)
            self.outbox.upload_done(item.id)
            return
        try:
            resp = http.put(
                url, content=body, headers={"Content-Type": item.content_type, "X-Content-SHA256": item.sha256}
            )
        except httpx.HTTPError as exc:
            self._failed(item, f"{type(exc).__name__}: {exc}")
            return
        if resp.status_code in (200, 201, 204) or (resp.status_code == 409 and "already" in resp.text):
            self.outbox.upload_done(item.id)
            self.last_error = None
        else:
            self._failed(item, f"HTTP {resp.status_code}: {resp.text[:200]}")

    def _failed(self, item: UploadItem, error: str) -> None:
        self.last_error = error
        delay = retry_delay(item.attempts)
        log.warning("upload %s failed (%s); retrying in %.0f s", item.url_path, error, delay)
        self.outbox.upload_failed(item.id, error, delay)
