"""Checking a build config against a model's defaults, and reading ``--set key=value`` strings.

The default value of each key fixes its type: a model needs no schema beyond its defaults, and
adds range rules in ``ModelBuilder.validate_config``.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

from .errors import ConfigError, close_matches, option


def merge_config(model: str, defaults: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``defaults`` updated with ``overrides``, each override checked and coerced to its key's type."""
    merged = dict(defaults)
    for key, value in overrides.items():
        if key not in defaults:
            hint = close_matches(key, defaults)
            did_you_mean = f" Did you mean {hint[0]!r}?" if hint else ""
            raise ConfigError(
                f"{model}: unknown config key {key!r}.{did_you_mean} "
                f"Allowed keys: {', '.join(sorted(defaults))}."
            )
        merged[key] = coerce(model, key, value, defaults[key])
    return merged


def coerce(model: str, key: str, value: Any, default: Any) -> Any:
    """``value`` converted to the type of ``default``, or a ConfigError saying what was expected."""
    expected = describe_type(default)
    if isinstance(value, str) and not isinstance(default, str):
        value = parse_value(value)
    ok: bool
    if default is None:
        ok = True
    elif isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, str):
        ok = isinstance(value, str)
    elif isinstance(default, (tuple, list)):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = (value,)
        ok = isinstance(value, (tuple, list))
        if ok and default:
            try:
                value = tuple(coerce(model, key, v, _element_default(default)) for v in value)
            except ConfigError:
                ok = False
        elif ok:
            value = tuple(value)
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise ConfigError(f"{model}: config {key}={value!r} has the wrong type; expected {expected}.")
    return value


def _element_default(default: tuple | list) -> Any:
    return default[0]


def describe_type(default: Any) -> str:
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, int):
        return "an integer"
    if isinstance(default, float):
        return "a number"
    if isinstance(default, str):
        return "a string"
    if isinstance(default, (tuple, list)):
        inner = describe_type(default[0]) if default else "values"
        return f"a list of {inner.removeprefix('an ').removeprefix('a ')}s such as {format_value(default)}"
    return type(default).__name__


def parse_value(text: str) -> Any:
    """A ``--set`` value: a Python/JSON-like literal, ``8,16,32`` as a tuple, or a plain string."""
    text = text.strip()
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    return tuple(value) if isinstance(value, list) else value


def parse_assignments(items: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """``["a=1", "b=x,y"]`` -> ``{"a": 1, "b": ("x", "y")}``, values parsed by :func:`parse_value`."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{option('config')} {item!r} is not key=value; write for example {option('config')} num_classes=3.")
        out[key.strip()] = parse_value(raw)
    return out


def format_value(value: Any) -> str:
    """A config value as a user writes it after ``--set``."""
    if isinstance(value, (tuple, list)):
        if not value:
            return "()"
        return ",".join(f"({format_value(v)})" if isinstance(v, (tuple, list)) else format_value(v) for v in value)
    return str(value).lower() if isinstance(value, bool) else str(value)


def require(model: str, ok: bool, key: str, value: Any, allowed: str) -> None:
    """Raise a ConfigError unless ``ok``: the standard message for an out-of-range value."""
    if not ok:
        raise ConfigError(f"{model}: config {key}={format_value(value)!s} is not allowed; expected {allowed}.")
