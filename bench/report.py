"""Write one benchmark's section into docs/BENCHMARKS.md, replacing its previous version."""

from __future__ import annotations

import subprocess
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "BENCHMARKS.md"
HEADER = "# Benchmarks\n\nFigures measured by the scripts in bench/; each section says its commit and conditions.\n\n"


def commit() -> str:
    """The short commit measured, for the section's first line."""
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=DOC.parent.parent
        ).stdout.strip()
    except OSError:
        return "unknown"


def write_section(heading: str, text: str) -> None:
    """`text` starts with a `## {heading}...` line; an older section with that heading goes."""
    current = DOC.read_text() if DOC.exists() else HEADER
    start = current.find(f"## {heading}")
    if start >= 0:
        end = current.find("\n## ", start + 1)
        current = current[:start] + current[end + 1 :] if end >= 0 else current[:start]
    DOC.write_text(current.rstrip() + "\n\n" + text.rstrip() + "\n")
