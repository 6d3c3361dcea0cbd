"""Evidence clips: exact pre-roll from the packet ring, byte-identical packets, faststart MP4."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from edge.clip import write_clip
from edge.recorder import ClipJob
from edge.ring import PacketRing, StoredPacket
from edge.sample import read_counter, write_sample
from edge.stream import Session

FPS = 25


def record(source: Path, event_t: float, pre_s: float, post_s: float, out: Path, ring: PacketRing | None = None):
    """Run the clip mechanism as the camera worker does: ring, then a job fed live packets."""
    ring = ring or PacketRing(pre_s, 64_000_000)
    session = Session(str(source), realtime=False, loop=False)
    job: ClipJob | None = None
    source_packets: list[StoredPacket] = []
    for pkt, _frames in session.packets():
        if pkt is None:
            continue
        source_packets.append(pkt)
        ring.append(pkt)
        if job is None and pkt.t >= event_t:
            assert session.template is not None
            # made between append and feed, as a detection on another thread may: holds pkt already
            job = ClipJob(
                "E", event_t, event_t + 60, post_s, session.template, ring.since(event_t - pre_s), end_t=event_t
            )
        if job is not None and job.feed(pkt):
            break
    assert job is not None
    packets = job.final_packets()
    written = write_clip(session.template, packets, out)
    session.close()
    return written, packets, source_packets, ring


def frame_counters(path: Path) -> list[int]:
    with av.open(str(path)) as c:
        return [read_counter(f.to_ndarray(format="gray")) for f in c.decode(video=0)]


@pytest.mark.parametrize("event_t", [6.0, 6.52])
def test_clip_bounds_bytes_and_faststart(tmp_path: Path, sample_mp4: Path, event_t: float) -> None:
    pre, post = 3.0, 2.0
    written, packets, source, _ = record(sample_mp4, event_t, pre, post, tmp_path / "clip.mp4")
    counters = frame_counters(written.path)
    # first frame no later than t - pre, last no earlier than t + post
    assert counters[0] <= (event_t - pre) * FPS
    assert counters[-1] >= (event_t + post) * FPS
    assert counters == list(range(counters[0], counters[-1] + 1)), "frames missing or out of order"
    # starts at the keyframe at or before t - pre: at most one GOP (1 s) of extra pre-roll
    assert (event_t - pre) * FPS - counters[0] < FPS
    # index (moov) before media data (mdat): a browser plays it at once
    data = written.path.read_bytes()
    assert 0 < data.find(b"moov") < data.find(b"mdat")
    # packets byte-identical to the source's
    by_pts = {p.pts: p.data for p in source}
    with av.open(str(written.path)) as c:
        clip_packets = [bytes(p) for p in c.demux(video=0) if p.size]
    assert len(clip_packets) == len(packets)
    assert clip_packets == [by_pts[p.pts] for p in packets]
    assert written.sha256 and written.size == len(data)


def test_ring_memory_stays_within_the_stated_bound(sample_mp4: Path) -> None:
    """The ring holds pre_s plus at most one GOP: never more bytes than any such window of the stream."""
    pre, gop_s = 3.0, 1.0
    ring = PacketRing(pre, 64_000_000)
    session = Session(str(sample_mp4), realtime=False, loop=False)
    packets = []
    for pkt, _ in session.packets():
        if pkt is None:
            continue
        packets.append(pkt)
        ring.append(pkt)
        span = packets[-1].t - ring.since(-1.0)[0].t
        assert span <= pre + gop_s + 1e-6
    session.close()
    window = pre + gop_s + 1 / FPS
    worst = max(sum(len(q.data) for q in packets if p.t <= q.t < p.t + window) for p in packets)
    assert 0 < ring.peak_bytes <= worst


def test_ring_hard_cap_drops_oldest_gops(sample_mp4: Path) -> None:
    ring = PacketRing(60.0, max_bytes=40_000)
    session = Session(str(sample_mp4), realtime=False, loop=False)
    for pkt, _ in session.packets():
        if pkt is not None:
            ring.append(pkt)
    session.close()
    gop_bytes = max(len(p.data) for p in ring.since(-1.0)) * FPS
    assert ring.bytes <= 40_000 + gop_bytes
    assert ring.since(-1.0)[0].keyframe


def test_non_h264_source_is_encoded_to_h264(tmp_path: Path) -> None:
    src = write_sample(tmp_path / "mpeg4.mp4", seconds=4, codec="mpeg4", gop=25)
    written, *_ = record(src, 2.0, 1.0, 1.0, tmp_path / "clip.mp4")
    with av.open(str(written.path)) as c:
        assert c.streams.video[0].codec_context.name == "h264"
    counters = frame_counters(written.path)
    assert counters[0] <= 1.0 * FPS and counters[-1] >= 3.0 * FPS


@pytest.mark.parametrize(
    "pts",
    [
        [0, 1, 2, 3, 4],  # no B-frames
        [0, 3, 1, 2, 6, 4, 5],  # IPBB
        [0, 4, 2, 1, 3, 8, 6, 5, 7],  # B-pyramid
    ],
)
def test_decode_timestamps_are_monotonic_and_never_after_presentation(pts: list[int]) -> None:
    from edge.clip import decode_timestamps

    dts = decode_timestamps(pts)
    assert all(a < b for a, b in zip(dts, dts[1:], strict=False))
    assert all(d <= p for d, p in zip(dts, pts, strict=True))
