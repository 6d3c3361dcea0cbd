"""Write evidence clips: remux stored packets into a faststart MP4, and hash it.

H.264 and H.265 packets are copied bit for bit (no re-encode: the clip is the camera's
own data); other codecs (MJPEG, MPEG-4 part 2) are decoded and encoded to H.264 so
every browser can play the clip. `movflags=+faststart` puts the index before the media
data so a browser starts playback at once and seeks with Range requests.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from edge.ring import StoredPacket

COPY_CODECS = {"h264", "hevc"}


class CodecTemplate:
    """The stream's codec parameters, kept as a tiny in-memory Matroska file.

    A clip may be written after the camera connection that produced its packets has
    been closed; PyAV needs a live stream object as the template of an output stream,
    so we keep one that does not depend on the network connection.
    """

    def __init__(self, stream: av.video.stream.VideoStream, first_key: bytes | None) -> None:
        self.codec = stream.codec_context.name
        self.time_base: Fraction = stream.time_base
        self.rate = stream.average_rate or stream.guessed_rate or Fraction(25)
        self.width = stream.codec_context.width
        self.height = stream.codec_context.height
        buf = io.BytesIO()
        with av.open(buf, "w", format="matroska") as out:
            ostream = out.add_stream_from_template(stream)
            if first_key is not None:
                pkt = av.Packet(first_key)
                pkt.pts = pkt.dts = 0
                pkt.time_base = self.time_base
                pkt.is_keyframe = True
                pkt.stream = ostream
                out.mux(pkt)
        self._blob = buf.getvalue()

    def open(self) -> tuple[av.container.InputContainer, av.video.stream.VideoStream]:
        container = av.open(io.BytesIO(self._blob))
        return container, container.streams.video[0]


@dataclass(frozen=True)
class WrittenFile:
    path: Path
    sha256: str
    size: int


def hash_file(path: Path) -> WrittenFile:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return WrittenFile(path, digest.hexdigest(), path.stat().st_size)


def write_clip(template: CodecTemplate, packets: list[StoredPacket], path: Path) -> WrittenFile:
    """Write packets (starting at a keyframe) to an MP4 at `path`, atomically."""
    if not packets or not packets[0].keyframe:
        raise ValueError("a clip must start at a keyframe")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    src, src_stream = template.open()
    try:
        with av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as out:
            if template.codec in COPY_CODECS:
                _remux(out, src_stream, template, packets)
            else:
                _transcode(out, src_stream, template, packets)
    finally:
        src.close()
    os.replace(tmp, path)
    return hash_file(path)


def decode_timestamps(pts: list[int]) -> list[int]:
    """Monotonic decode timestamps for packets in decode order, each at or before its pts.

    The i-th decode time is the i-th smallest presentation time shifted back by the
    stream's reorder delay (the largest amount a frame is decoded ahead of its turn).
    Cameras' own DTS are often missing or guessed (RTSP), so they are not trusted.
    """
    ordered = sorted(pts)
    delay = max(0, max(o - p for o, p in zip(ordered, pts, strict=True)))
    return [o - delay for o in ordered]


def _remux(out: av.container.OutputContainer, src_stream, template: CodecTemplate, packets: list[StoredPacket]) -> None:
    ostream = out.add_stream_from_template(src_stream)
    dts = decode_timestamps([p.pts for p in packets])
    zero = dts[0]
    for sp, d in zip(packets, dts, strict=True):
        pkt = av.Packet(sp.data)
        pkt.pts, pkt.dts, pkt.duration = sp.pts - zero, d - zero, sp.duration
        pkt.time_base = template.time_base
        pkt.is_keyframe = sp.keyframe
        pkt.stream = ostream
        out.mux(pkt)


def _transcode(
    out: av.container.OutputContainer, src_stream, template: CodecTemplate, packets: list[StoredPacket]
) -> None:
    decoder = av.CodecContext.create(src_stream.codec_context.name, "r")
    decoder.extradata = src_stream.codec_context.extradata
    ostream = out.add_stream("libx264", rate=template.rate)
    ostream.width, ostream.height = template.width - template.width % 2, template.height - template.height % 2
    ostream.pix_fmt = "yuv420p"
    ostream.options = {"preset": "veryfast", "crf": "20"}
    ostream.time_base = template.time_base
    dts = decode_timestamps([p.pts for p in packets])
    zero = dts[0]
    for sp, d in zip(packets, dts, strict=True):
        pkt = av.Packet(sp.data)
        pkt.pts, pkt.dts, pkt.time_base = sp.pts - zero, d - zero, template.time_base
        for frame in decoder.decode(pkt):
            frame = frame.reformat(width=ostream.width, height=ostream.height, format="yuv420p")
            frame.time_base = template.time_base
            out.mux(ostream.encode(frame))
    for frame in decoder.decode(None):
        frame = frame.reformat(width=ostream.width, height=ostream.height, format="yuv420p")
        out.mux(ostream.encode(frame))
    out.mux(ostream.encode(None))
