"""Export the contract as JSON Schema files, one per payload, for third-party consumers."""

from __future__ import annotations

import json
from pathlib import Path

from contract.models import Ack, Command, CommandReply, Event, Status, Telemetry

PAYLOADS = {
    "event": Event,
    "telemetry": Telemetry,
    "status": Status,
    "ack": Ack,
    "cmd": Command,
    "reply": CommandReply,
}


def write_schemas(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for leaf, model in PAYLOADS.items():
        path = out_dir / f"{leaf}.schema.json"
        path.write_text(json.dumps(model.model_json_schema(), indent=2, ensure_ascii=False) + "\n")
        written.append(path)
    return written
