"""An `http://` source: an MPEG-TS stream served by a real local HTTP server."""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import av

from edge.sample import read_counter, write_sample
from edge.stream import Session


def test_http_mpegts_source_yields_packets_and_frames(tmp_path: Path) -> None:
    mp4 = write_sample(tmp_path / "s.mp4", seconds=3)
    ts = tmp_path / "s.ts"
    with av.open(str(mp4)) as src, av.open(str(ts), "w", format="mpegts") as dst:
        out = dst.add_stream_from_template(src.streams.video[0])
        for pkt in src.demux(video=0):
            if pkt.size:
                pkt.stream = out
                dst.mux(pkt)
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *a: None  # type: ignore[method-assign]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        session = Session(f"http://127.0.0.1:{server.server_port}/s.ts", realtime=False, loop=False)
        decoded = [d for _, frames in session.packets() for d in frames]
        counters = [read_counter(d.frame.to_ndarray(format="gray")) for d in decoded]
        session.close()
        assert session.template is not None and session.template.codec == "h264"
        assert counters == list(range(75))  # the decoder's flush delivers the last frames
        assert [round(d.t * 25) for d in decoded] == counters  # each frame carries its own time
    finally:
        server.shutdown()
