"""A YAML file that ships in the package with a user's file over it (signals, playbook, scorecard).

One reader, one validator and the merge strategies, so every such file fails the same way: one
line naming the file, and the line or the key that is wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from undertow.errors import ConfigurationError, one_line

Model = TypeVar("Model", bound=BaseModel)
Merge = Callable[[dict, dict], dict]


class OverlayError(ConfigurationError):
    """A bundled or user YAML file cannot be read or does not fit its schema; one line."""


def read_yaml(text: str, origin: object) -> dict:
    """The mapping in `text`; an empty file is an empty mapping."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise OverlayError(f"{origin}: not valid YAML ({_yaml_problem(error)})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise OverlayError(f"{origin}: expected a mapping of settings at the top level, found a {type(data).__name__}")
    return data


def _yaml_problem(error: yaml.YAMLError) -> str:
    """`line 3, column 7: expected ',' or ']'`: where a person has to look, and what is wrong there."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or one_line(error)
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}" if mark is not None else problem


def read_yaml_file(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeError) as error:  # a folder, no permission, not UTF-8
        raise OverlayError(one_line(error, path)) from None
    return read_yaml(text, path)


def validate(model: type[Model], data: dict, origin: object, hint: str = "") -> Model:
    """`data` as `model`, or OverlayError `origin: key: problem (hint)`."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise OverlayError(one_line(error, origin, model=model) + (f" ({hint})" if hint else "")) from None


def layers(bundled_text: str, bundled_origin: str, user_file: Path | None) -> list[tuple[dict, str]]:
    """(data, origin) for the bundled file, then for `user_file` when it exists."""
    found = [(read_yaml(bundled_text, bundled_origin), bundled_origin)]
    if user_file is not None and user_file.exists():
        found.append((read_yaml_file(user_file), str(user_file)))
    return found


def merged(bundled_text: str, bundled_origin: str, user_file: Path | None, merge: Merge) -> tuple[dict, str]:
    """The bundled data with the user's merged over it by `merge`, and the origin to name in an
    error (the user's file when there is one: what ships is valid on its own)."""
    found = layers(bundled_text, bundled_origin, user_file)
    data = found[0][0]
    for more, _ in found[1:]:
        data = merge(data, more)
    return data, found[-1][1]


def load_overlay(model: type[Model], bundled_text: str, bundled_origin: str, user_file: Path | None, merge: Merge, hint: str = "") -> Model:
    return validate(model, *merged(bundled_text, bundled_origin, user_file, merge), hint=hint)


# --- merge strategies ------------------------------------------------------------------------------
def deep_merge(base: dict, override: dict) -> dict:
    """Dicts merge key by key, at any depth; anything else (numbers, lists) is replaced."""
    result = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = deep_merge(result[key], value)
        else:
            result[key] = value
    return result

