"""gridwatch edge agent: cameras in, events with evidence clips out over MQTT."""

__version__ = "0.1.0"
