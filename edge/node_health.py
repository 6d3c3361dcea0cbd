"""Node-level health for telemetry: CPU, memory, disk, temperature (where the box has a sensor)."""

from __future__ import annotations

import time
from pathlib import Path

import psutil

from contract import NodeHealth

_STARTED = time.monotonic()


def node_health(data_dir: Path, outbox_pending: int, uploads_pending: int) -> NodeHealth:
    temperature = None
    try:
        sensors = psutil.sensors_temperatures()
        readings = [t.current for entries in sensors.values() for t in entries if t.current]
        temperature = max(readings) if readings else None
    except (AttributeError, OSError):
        pass
    return NodeHealth(
        cpu_percent=psutil.cpu_percent(interval=None),
        mem_percent=psutil.virtual_memory().percent,
        disk_free_bytes=psutil.disk_usage(str(data_dir)).free,
        temperature_c=temperature,
        outbox_pending=outbox_pending,
        uploads_pending=uploads_pending,
        uptime_s=round(time.monotonic() - _STARTED, 1),
    )
