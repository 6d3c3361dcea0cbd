"""Generate docs/cloud-config-reference.md and docs/api/openapi.json from the code."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from cloud.alerting.rules import AlertingRules
from cloud.config import CloudConfig
from edge.docs import config_reference


def cloud_config_reference() -> str:
    return config_reference(
        CloudConfig, "Cloud config reference", "`gridwatch-cloud docs` from the pydantic models in `cloud/config.py`"
    )


def alerting_rules_reference() -> str:
    return config_reference(
        AlertingRules,
        "Alerting rules reference",
        "`gridwatch-cloud docs` from the pydantic models in `cloud/alerting/rules.py`; see docs/ALERTING.md",
    )


def openapi() -> dict:
    from cloud.api import create_app
    from cloud.service import CloudService

    with tempfile.TemporaryDirectory() as tmp:
        svc = CloudService(CloudConfig(ingest={"workers": 0}).resolved(Path(tmp)))
        try:
            return create_app(svc).openapi()
        finally:
            svc.stop()


def write_docs(out_dir: Path) -> list[Path]:
    ref = out_dir / "cloud-config-reference.md"
    ref.write_text(cloud_config_reference())
    rules = out_dir / "alerting-rules-reference.md"
    rules.write_text(alerting_rules_reference())
    spec = out_dir / "api" / "openapi.json"
    spec.parent.mkdir(parents=True, exist_ok=True)
    spec.write_text(json.dumps(openapi(), indent=1, sort_keys=True) + "\n")
    return [ref, rules, spec]
