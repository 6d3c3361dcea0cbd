"""A real RTSP server for the tests: GStreamer's gst-rtsp-server serving an MP4's H.264.

Runs under the system Python (python3-gi and gir1.2-gst-rtsp-server-1.0 from Debian),
as a separate process the tests start and kill to make the stream die and come back.
Usage: rtsp_server.py PORT FILE.mp4  -> rtsp://127.0.0.1:PORT/cam, looping the file.
"""

import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main() -> None:
    port, path = sys.argv[1], sys.argv[2]
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_service(port)
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        f"( multifilesrc location={path} loop=true ! qtdemux ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=1 )"
    )
    factory.set_shared(True)
    server.get_mount_points().add_factory("/cam", factory)
    server.attach(None)
    print("ready", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
