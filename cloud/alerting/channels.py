"""Channel adapters: how one rendered message reaches WeCom, DingTalk, Feishu, a webhook, an
SMS gateway or a mailbox. Each adapter only formats and sends; rate limits, digests and retries
are the dispatcher's, so every channel gets them the same way.

Vendor details (FIELD_NOTES §7): WeCom text <= 2048 bytes and images <= 2 MB as base64 + MD5;
DingTalk and Feishu sign with HMAC-SHA256 (`dingtalk_sign`, `feishu_sign` reproduce the test
vectors); an error code in a 200 answer is a failure; rate-limit codes back off for longer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import httpx

from cloud.alerting.rules import (
    DingTalkChannel,
    EmailChannel,
    FeishuChannel,
    Person,
    SmsChannel,
    WebhookChannel,
    WeComChannel,
)

WECOM_URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
DINGTALK_URL = "https://oapi.dingtalk.com/robot/send"
FEISHU_URL = "https://open.feishu.cn/open-apis/bot/v2/hook/"
WECOM_TEXT_MAX = 2048
WECOM_IMAGE_MAX = 2 * 1024 * 1024
FEISHU_BODY_MAX = 20 * 1024


@dataclass
class Message:
    """What one delivery says, already in the configured language."""

    title: str
    lines: list[str]
    event_url: str | None = None
    ack_url: str | None = None
    link_labels: tuple[str, str] = ("Event", "Acknowledge")
    sep: str = ": "  # "：" in Chinese
    snapshot: bytes | None = None
    sms_params: dict[str, str] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)  # the alarm as JSON, for webhooks

    def text(self) -> str:
        out = [self.title, *self.lines]
        if self.event_url:
            out.append(f"{self.link_labels[0]}{self.sep}{self.event_url}")
        if self.ack_url:
            out.append(f"{self.link_labels[1]}{self.sep}{self.ack_url}")
        return "\n".join(out)


class DeliveryError(Exception):
    """The channel did not take the message. `retry_after_s` overrides the backoff (a vendor
    rate limit); `permanent` means retrying cannot help (a bad key)."""

    def __init__(self, reason: str, retry_after_s: float | None = None, permanent: bool = False) -> None:
        super().__init__(reason)
        self.retry_after_s = retry_after_s
        self.permanent = permanent


def truncate_utf8(text: str, limit: int) -> str:
    """Cut to at most `limit` bytes of UTF-8 without splitting a character."""
    raw = text.encode()
    if len(raw) <= limit:
        return text
    return raw[: limit - 3].decode(errors="ignore") + "..."


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """urlencode(base64(HMAC-SHA256(key=secret, msg=f"{ts}\\n{secret}")))."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest))


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """base64(HMAC-SHA256(key=f"{ts}\\n{secret}", msg=b"")): Feishu's key is the string, not the secret."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def webhook_signature(secret: str, timestamp_s: int, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), f"{timestamp_s}.".encode() + body, hashlib.sha256).hexdigest()


class Adapter:
    """One configured channel instance; `send` returns how many vendor messages it used."""

    def __init__(self, name: str, cfg: Any, client: httpx.Client) -> None:
        self.name = name
        self.cfg = cfg
        self.client = client

    def send(self, msg: Message, people: list[Person]) -> int:
        raise NotImplementedError

    def _post(self, url: str, body: dict[str, Any] | bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        content = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        try:
            resp = self.client.post(
                url,
                content=content,
                headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
                timeout=self.cfg.timeout_s,
            )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from None
        if resp.status_code == 429:
            raise DeliveryError("HTTP 429", retry_after_s=60)
        if resp.status_code >= 400:
            raise DeliveryError(
                f"HTTP {resp.status_code}: {resp.text[:200]}", permanent=resp.status_code in (401, 403, 404)
            )
        return resp

    @staticmethod
    def _json(resp: httpx.Response) -> dict[str, Any]:
        try:
            data = resp.json()
        except ValueError:
            raise DeliveryError(f"answer is not JSON: {resp.text[:200]}") from None
        return data if isinstance(data, dict) else {}


class WeCom(Adapter):
    cfg: WeComChannel

    def send(self, msg: Message, people: list[Person]) -> int:
        url = f"{self.cfg.url or WECOM_URL}?key={self.cfg.key.get_secret_value()}"
        mobiles = [p.mobile for p in people if p.mobile]
        text = {"content": truncate_utf8(msg.text(), WECOM_TEXT_MAX)}
        if mobiles:
            text["mentioned_mobile_list"] = mobiles
        self._check(self._post(url, {"msgtype": "text", "text": text}))
        sent = 1
        if self.cfg.snapshot and msg.snapshot and len(msg.snapshot) <= WECOM_IMAGE_MAX:
            image = {"base64": base64.b64encode(msg.snapshot).decode(), "md5": hashlib.md5(msg.snapshot).hexdigest()}
            self._check(self._post(url, {"msgtype": "image", "image": image}))
            sent += 1
        return sent

    def _check(self, resp: httpx.Response) -> None:
        data = self._json(resp)
        code = data.get("errcode", -1)
        if code == 45009:
            raise DeliveryError("WeCom rate limit (errcode 45009)", retry_after_s=60)
        if code != 0:
            raise DeliveryError(f"WeCom errcode {code}: {data.get('errmsg', '')}", permanent=code in (93000, 40001))


class DingTalk(Adapter):
    cfg: DingTalkChannel

    def send(self, msg: Message, people: list[Person]) -> int:
        ts = int(time.time() * 1000)
        sign = dingtalk_sign(self.cfg.secret.get_secret_value(), ts)
        url = f"{self.cfg.url or DINGTALK_URL}?access_token={self.cfg.access_token.get_secret_value()}&timestamp={ts}&sign={sign}"
        mobiles = [p.mobile for p in people if p.mobile]
        lines = [f"### {msg.title}", *msg.lines]
        if msg.event_url:
            lines.append(f"[{msg.link_labels[0]}]({msg.event_url})")
        if msg.ack_url:
            lines.append(f"[{msg.link_labels[1]}]({msg.ack_url})")
        if mobiles:
            lines.append(" ".join(f"@{m}" for m in mobiles))  # DingTalk pushes only if the text names them
        body = {
            "msgtype": "markdown",
            "markdown": {"title": msg.title, "text": "\n\n".join(lines)},
            "at": {"atMobiles": mobiles, "isAtAll": False},
        }
        data = self._json(self._post(url, body))
        code = data.get("errcode", -1)
        if code == 130101:
            raise DeliveryError("DingTalk rate limit (errcode 130101): robot blocked for 10 min", retry_after_s=600)
        if code != 0:
            raise DeliveryError(
                f"DingTalk errcode {code}: {data.get('errmsg', '')}", permanent=code in (310000, 300001)
            )
        return 1


class Feishu(Adapter):
    cfg: FeishuChannel

    def send(self, msg: Message, people: list[Person]) -> int:
        ts = int(time.time())
        rows: list[list[dict[str, str]]] = [[{"tag": "text", "text": line}] for line in msg.lines]
        links = [(msg.link_labels[0], msg.event_url), (msg.link_labels[1], msg.ack_url)]
        row = [{"tag": "a", "text": label, "href": href} for label, href in links if href]
        if row:
            rows.append(row)
        body = {
            "timestamp": str(ts),
            "sign": feishu_sign(self.cfg.secret.get_secret_value(), ts),
            "msg_type": "post",
            "content": {"post": {"zh_cn": {"title": msg.title, "content": rows}}},
        }
        raw = json.dumps(body, ensure_ascii=False).encode()
        if len(raw) > FEISHU_BODY_MAX:
            raise DeliveryError(f"message of {len(raw)} bytes exceeds Feishu's 20 KB", permanent=True)
        data = self._json(self._post(f"{self.cfg.url or FEISHU_URL}{self.cfg.token.get_secret_value()}", raw))
        code = data.get("code", data.get("StatusCode", -1))
        if code == 11232:
            raise DeliveryError("Feishu rate limit (code 11232)", retry_after_s=60)
        if code != 0:
            raise DeliveryError(f"Feishu code {code}: {data.get('msg', '')}", permanent=code in (19021, 19022, 19024))
        return 1


class Webhook(Adapter):
    cfg: WebhookChannel

    def send(self, msg: Message, people: list[Person]) -> int:
        body: dict[str, Any] = {
            **msg.data,
            "title": msg.title,
            "text": msg.text(),
            "event_url": msg.event_url,
            "ack_url": msg.ack_url,
            "recipients": [{"name": p.name, "mobile": p.mobile, "email": p.email} for p in people],
        }
        if self.cfg.snapshot and msg.snapshot:
            body["snapshot_jpeg_b64"] = base64.b64encode(msg.snapshot).decode()
        raw = json.dumps(body, ensure_ascii=False, sort_keys=True).encode()
        ts = int(time.time())
        headers = {"X-Gridwatch-Timestamp": str(ts)}
        if self.cfg.secret is not None:
            headers["X-Gridwatch-Signature"] = webhook_signature(self.cfg.secret.get_secret_value(), ts, raw)
        self._post(self.cfg.url, raw, headers)
        return 1


class Sms(Adapter):
    cfg: SmsChannel

    def send(self, msg: Message, people: list[Person]) -> int:
        numbers = [p.mobile for p in people if p.mobile]
        if not numbers:
            raise DeliveryError("no recipient has a mobile number", permanent=True)
        for key, value in msg.sms_params.items():
            if "://" in value or "www." in value:
                raise DeliveryError(f"SMS parameter {key!r} carries a URL, which carriers refuse", permanent=True)
        body = {
            "PhoneNumbers": ",".join(numbers),
            "SignName": self.cfg.sign_name,
            "TemplateCode": self.cfg.template_code,
            "TemplateParam": json.dumps(msg.sms_params, ensure_ascii=False, sort_keys=True),
        }
        headers = {"X-Access-Key": self.cfg.access_key.get_secret_value()} if self.cfg.access_key else {}
        data = self._json(self._post(self.cfg.url, body, headers))
        if data.get("Code") != "OK":
            raise DeliveryError(f"SMS gateway: {data.get('Code')}: {data.get('Message', '')}")
        return 1


class Email(Adapter):
    cfg: EmailChannel

    def send(self, msg: Message, people: list[Person]) -> int:
        to = [p.email for p in people if p.email]
        if not to:
            raise DeliveryError("no recipient has an e-mail address", permanent=True)
        mail = EmailMessage()
        mail["Subject"] = msg.title
        mail["From"] = self.cfg.sender
        mail["To"] = ", ".join(to)
        mail.set_content(msg.text())
        if msg.snapshot:
            mail.add_attachment(msg.snapshot, maintype="image", subtype="jpeg", filename="snapshot.jpg")
        try:
            with smtplib.SMTP(self.cfg.host, self.cfg.port, timeout=self.cfg.timeout_s) as smtp:
                if self.cfg.starttls:
                    smtp.starttls()
                if self.cfg.username and self.cfg.password:
                    smtp.login(self.cfg.username, self.cfg.password.get_secret_value())
                smtp.send_message(mail)
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"SMTP login refused: {exc}", permanent=True) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP: {type(exc).__name__}: {exc}") from None
        return 1


ADAPTERS: dict[str, Callable[[str, Any, httpx.Client], Adapter]] = {
    "wecom": WeCom,
    "dingtalk": DingTalk,
    "feishu": Feishu,
    "webhook": Webhook,
    "sms": Sms,
    "email": Email,
}


def make_adapters(channels: dict[str, Any], client: httpx.Client) -> dict[str, Adapter]:
    return {name: ADAPTERS[cfg.type](name, cfg, client) for name, cfg in channels.items()}
