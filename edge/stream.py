"""Open a camera source through PyAV and yield its compressed packets with their frames.

One session = one open connection. The reader gets both the packet (for the clip ring)
and the decoded frames (for the detectors) from the same demux, so what a clip shows is
exactly what the detectors saw. Reconnection policy lives in the camera worker; this
module only opens, reads and reports.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction

import av

from edge.clip import CodecTemplate
from edge.ring import StoredPacket

OPEN_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 10.0


class SourceError(Exception):
    """The source cannot be opened or read; the message says which and why."""


def _open_options(source: str) -> dict[str, str]:
    if source.startswith(("rtsp://", "rtsps://")):
        return {"rtsp_transport": "tcp", "rtsp_flags": "prefer_tcp"}
    if source.startswith(("http://", "https://")):
        return {"reconnect": "0"}
    return {}


@dataclass(frozen=True, slots=True)
class DecodedFrame:
    frame: av.VideoFrame
    t: float  # the frame's own presentation time in media seconds (not its packet's)


@dataclass
class Session:
    """An open source. `packets()` yields (packet, decoded frames) until the end.

    The packet is None for the decoder's final flush, which releases the frames that
    B-frame reordering held back."""

    source: str
    realtime: bool  # pace a file at its frame rate, like a camera
    loop: bool
    container: av.container.InputContainer = field(init=False)
    stream: av.video.stream.VideoStream = field(init=False)
    template: CodecTemplate | None = field(init=False, default=None)
    decode_errors: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        try:
            self.container = av.open(
                self.source, options=_open_options(self.source), timeout=(OPEN_TIMEOUT_S, READ_TIMEOUT_S)
            )
        except (av.FFmpegError, OSError) as exc:
            raise SourceError(f"cannot open {self.source}: {exc}") from None
        if not self.container.streams.video:
            self.container.close()
            raise SourceError(f"{self.source} has no video stream")
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"

    @property
    def is_file(self) -> bool:
        return "://" not in self.source

    @property
    def fps(self) -> float:
        rate = self.stream.average_rate or self.stream.guessed_rate or Fraction(25)
        return float(rate)

    @property
    def size(self) -> tuple[int, int]:
        return self.stream.codec_context.width, self.stream.codec_context.height

    def close(self) -> None:
        self.container.close()

    def packets(self) -> Iterator[tuple[StoredPacket | None, list[DecodedFrame]]]:
        tb = self.stream.time_base
        offset = 0  # added to pts so that looped files keep increasing timestamps
        last_end = 0  # end of the latest-presented packet so far, offset included
        first: int | None = None
        t = 0.0  # media time of the latest packet
        wall0 = time.monotonic()
        default_dur = max(1, round(1 / (self.fps * tb))) if tb else 1
        while True:
            try:
                for pkt in self.container.demux(self.stream):
                    if pkt.size == 0:  # end of stream: flush the decoder
                        flushed = self._decode(pkt, offset, first, tb, t)
                        if flushed:
                            yield None, flushed
                        continue
                    # Presentation time drives everything; decode times are re-derived by the
                    # clip writer (RTSP often gives none for the first packets).
                    raw = pkt.pts if pkt.pts is not None else pkt.dts
                    pts = raw + offset if raw is not None else last_end
                    if first is None:  # media time 0 is the first presented frame, not the first decoded
                        first = pts
                    dur = pkt.duration or default_dur
                    last_end = max(last_end, pts + dur)
                    if self.template is None and pkt.is_keyframe:
                        self.template = CodecTemplate(self.stream, bytes(pkt))
                    t = float((pts - first) * tb)
                    stored = StoredPacket(bytes(pkt), pts, dur, t, bool(pkt.is_keyframe))
                    frames = self._decode(pkt, offset, first, tb, t)
                    if self.realtime:
                        delay = wall0 + t - time.monotonic()
                        if delay > 0:
                            time.sleep(delay)
                    yield stored, frames
            except av.FFmpegError as exc:
                raise SourceError(f"{self.source}: read failed: {exc}") from None
            if not (self.loop and self.is_file):
                return
            offset = last_end
            self.container.seek(0)

    def _decode(
        self, pkt: av.Packet, offset: int, first: int | None, tb: Fraction, fallback_t: float
    ) -> list[DecodedFrame]:
        """Decode one packet; frames without a pts take `fallback_t` (their packet's time)."""
        try:
            frames = pkt.decode()
        except av.FFmpegError:
            self.decode_errors += 1
            return []
        return [
            DecodedFrame(
                frame,
                float((frame.pts + offset - first) * tb) if frame.pts is not None and first is not None else fallback_t,
            )
            for frame in frames
        ]
