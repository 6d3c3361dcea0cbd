"""A per-camera ring of compressed packets: the pre-roll of every evidence clip.

Why packets and not frames or segments: a clip cut from the packets is the camera's own
bits (evidence, and no re-encode cost), and cutting at the keyframe at or before the
wanted pre-roll gives an exact pre-roll, where fixed-length segments lose seconds at
clip starts (Frigate's "missing seconds").

Memory bound: the ring keeps `pre_s` seconds plus at most one GOP before them, so about
(pre_s + gop_s) * bitrate / 8 bytes: 20 s + a 2 s GOP of a 1 Mbit/s stream is 2.75 MB.
`max_bytes` caps it whatever the stream does (oldest GOPs go first).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StoredPacket:
    data: bytes
    pts: int  # presentation time in the stream's time_base, offset across file loops
    duration: int
    t: float  # media seconds
    keyframe: bool


def ring_bound_bytes(pre_s: float, gop_s: float, mbit_s: float) -> int:
    """The documented bound for a stream of `mbit_s` with keyframes every `gop_s`."""
    return int((pre_s + gop_s) * mbit_s * 1e6 / 8)


class PacketRing:
    def __init__(self, pre_s: float, max_bytes: int) -> None:
        self.pre_s = pre_s
        self.max_bytes = max_bytes
        self._packets: deque[StoredPacket] = deque()
        self._bytes = 0
        self._lock = threading.Lock()
        self.peak_bytes = 0

    def __len__(self) -> int:
        return len(self._packets)

    @property
    def bytes(self) -> int:
        return self._bytes

    def clear(self) -> None:
        with self._lock:
            self._packets.clear()
            self._bytes = 0

    def append(self, pkt: StoredPacket) -> None:
        with self._lock:
            self._packets.append(pkt)
            self._bytes += len(pkt.data)
            self._trim(pkt.t - self.pre_s)
            self.peak_bytes = max(self.peak_bytes, self._bytes)

    def _trim(self, keep_from_t: float) -> None:
        """Drop whole GOPs while the next keyframe still starts at or before keep_from_t
        (so the keyframe at or before the pre-roll start stays), or while over max_bytes."""
        packets = self._packets
        while len(packets) > 1:
            nxt = self._next_keyframe_index()
            if nxt is None:
                break
            if packets[nxt].t > keep_from_t and self._bytes <= self.max_bytes:
                break
            for _ in range(nxt):
                self._bytes -= len(packets.popleft().data)
        # a stream that starts mid-GOP: packets before the first keyframe cannot be decoded
        while packets and not packets[0].keyframe and self._next_keyframe_index() is not None:
            self._bytes -= len(packets.popleft().data)

    def _next_keyframe_index(self) -> int | None:
        for i, p in enumerate(self._packets):
            if i > 0 and p.keyframe:
                return i
        return None

    def since(self, t: float) -> list[StoredPacket]:
        """Packets from the last keyframe at or before t (or the oldest keyframe) onwards."""
        with self._lock:
            packets = list(self._packets)
        start = None
        for i, p in enumerate(packets):
            if p.keyframe and (p.t <= t or start is None):
                start = i
            if p.t > t and start is not None:
                break
        return [] if start is None else packets[start:]


def total_bytes(packets: Iterable[StoredPacket]) -> int:
    return sum(len(p.data) for p in packets)
