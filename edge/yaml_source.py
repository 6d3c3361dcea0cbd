"""Load YAML while remembering the line of every key, and substitute `${ENV}` secrets.

Why: an installer who mistypes a key must be told the file, the line and the key path
(`site.yaml:23 cameras[1].facade.corners: expected 4 points, got 3`), not a Python trace.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")

Loc = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


class ConfigError(Exception):
    """One or more problems in a config file, each already formatted for a person."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def format_loc(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


class LocatedYaml:
    """Parsed YAML data plus the 1-based line of each key path."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines: dict[Loc, int] = {}
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
            self.data: Any = yaml.safe_load(text)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else 0
            raise ConfigError([f"{path.name}:{line} YAML syntax: {exc.problem or exc}"]) from None
        if root is not None:
            self._walk(root, ())

    def _walk(self, node: yaml.Node, loc: Loc) -> None:
        self.lines.setdefault(loc, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = (*loc, str(key.value))
                self.lines[child] = key.start_mark.line + 1
                self._walk(value, child)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._walk(item, (*loc, i))

    def line_of(self, loc: Sequence[str | int]) -> int:
        """Line of the deepest part of `loc` that exists in the file."""
        loc = tuple(loc)
        while loc and loc not in self.lines:
            loc = loc[:-1]
        return self.lines.get(loc, 1)

    def where(self, loc: Sequence[str | int]) -> str:
        return f"{self.path.name}:{self.line_of(loc)} {format_loc(loc)}"

    def substitute_env(self, env: dict[str, str] | None = None) -> None:
        """Replace `${VAR}` and `${VAR:-default}` in every string; a missing VAR is an error."""
        env = dict(os.environ) if env is None else env
        problems: list[str] = []

        def sub(value: Any, loc: Loc) -> Any:
            if isinstance(value, dict):
                return {k: sub(v, (*loc, str(k))) for k, v in value.items()}
            if isinstance(value, list):
                return [sub(v, (*loc, i)) for i, v in enumerate(value)]
            if not isinstance(value, str):
                return value

            def one(m: re.Match[str]) -> str:
                name, default = m.group(1), m.group(2)
                if name in env:
                    return env[name]
                if default is not None:
                    return default
                problems.append(f"{self.where(loc)}: environment variable {name} is not set")
                return ""

            return _ENV.sub(one, value)

        self.data = sub(self.data, ())
        if problems:
            raise ConfigError(problems)


def load_located(path: Path) -> LocatedYaml:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path.name}: not UTF-8 text ({exc.reason} at byte {exc.start})"]) from None
    doc = LocatedYaml(path, text)
    if not isinstance(doc.data, dict):
        raise ConfigError([f"{path.name}:1 (top level): expected a mapping of keys, got {type(doc.data).__name__}"])
    return doc


def error_loc(err: dict[str, Any]) -> list[str | int]:
    """A pydantic error's key path without the validator names pydantic puts in it."""
    return [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]


def pydantic_problems(doc: LocatedYaml, errors: list[dict[str, Any]]) -> list[str]:
    """Turn pydantic's errors into `file:line key.path: message` lines."""
    problems = []
    for err in errors:
        loc = error_loc(err)
        msg = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see docs/EDGE.md for the keys allowed here)"
        elif err["type"] == "missing":
            msg = "required key is missing"
        elif "input" in err and err["type"] not in ("value_error", "assertion_error"):
            shown = repr(err["input"])
            msg = f"{msg} (got {shown[:60]})"
        problems.append(f"{doc.where(loc)}: {msg}")
    return problems


def load_model(path: Path, model: type[M], env: dict[str, str] | None = None) -> M:
    """Read `path`, substitute `${ENV}` and validate against `model`; raise ConfigError
    listing every problem as `file:line key.path: message`."""
    doc = load_located(path)
    doc.substitute_env(env)
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        raise ConfigError(pydantic_problems(doc, exc.errors())) from None
