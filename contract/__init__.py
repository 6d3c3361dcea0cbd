"""The MQTT wire contract between edge nodes and the cloud.

Defined once here and imported by both sides, so a field cannot mean one thing on the
edge and another in the cloud. `schema.py` exports it as JSON Schema for third parties.
"""

from contract.models import (
    SCHEMA_VERSION,
    Ack,
    AckedRevision,
    CameraHealth,
    Command,
    CommandReply,
    Event,
    EventType,
    FacadeCalibration,
    MediaRef,
    NodeHealth,
    Origin,
    Phase,
    RegionDetails,
    Status,
    Telemetry,
    ThrownDetails,
    new_event_id,
)
from contract.topics import Topics

__all__ = [
    "FacadeCalibration",
    "SCHEMA_VERSION",
    "Ack",
    "AckedRevision",
    "CameraHealth",
    "Command",
    "CommandReply",
    "Event",
    "EventType",
    "MediaRef",
    "NodeHealth",
    "Origin",
    "Phase",
    "RegionDetails",
    "Status",
    "Telemetry",
    "ThrownDetails",
    "Topics",
    "new_event_id",
]
