"""Helpers shared by the ``rlvr`` subcommands: consoles, error reporting, JSON options.

Kept light: rich is imported only when a console is first asked for, so ``rlvr --help`` stays fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


class CLIError(Exception):
    """A user error the CLI reports as one line (exit code 2): bad option, missing file, bad spec."""


WIDE_COLUMNS = 200   # tables written to a file or a pipe are not squeezed to rich's 80-column default


def console(stderr: bool = False):
    """A rich Console on stdout (results) or stderr (progress, messages). Written to a file or a pipe, it is
    ``WIDE_COLUMNS`` wide (or ``$COLUMNS``) and plain: tables keep their natural width, without colour codes."""
    import os

    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    try:
        terminal = stream.isatty()
    except (AttributeError, ValueError):
        terminal = False
    if terminal:
        return Console(stderr=stderr, highlight=False)
    width = int(os.environ["COLUMNS"]) if os.environ.get("COLUMNS", "").isdigit() else WIDE_COLUMNS
    return Console(stderr=stderr, highlight=False, width=width)


def print_error(message: str) -> None:
    """One red line on stderr."""
    try:
        from rich.markup import escape

        console(stderr=True).print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    except Exception:  # pragma: no cover - rich missing or broken: still say it
        print(f"error: {message}", file=sys.stderr)


def parse_json_object(text: str | None, option: str) -> dict[str, Any]:
    """Parse ``--option '{"k": 1}'`` into a dict; a clear CLIError otherwise. None/"" -> {}."""
    if text is None or not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CLIError(
            f"{option} must be a JSON object like '{{\"players\": 3}}': {exc.msg} at column {exc.colno}"
        ) from None
    if not isinstance(value, dict):
        raise CLIError(f"{option} must be a JSON object like '{{\"players\": 3}}', got {type(value).__name__}")
    return value


def existing_file(path: str | Path, option: str) -> Path:
    p = Path(path)
    if not p.is_file():
        raise CLIError(f"{option}: file not found: {p}")
    return p


# ----- options generated from a config dataclass (agents/training/options.py declares the metadata) -------------


def _field_kind(annotation: Any) -> tuple[type, bool]:
    """(base type, optional) of a field annotation such as ``int``, ``float | None``, ``list[str]``, ``dict``."""
    import types
    import typing

    optional = False
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        optional = type(None) in args
        annotation = next(a for a in args if a is not type(None))
    origin = typing.get_origin(annotation) or annotation
    return origin, optional


def _json_option(flag: str):
    def parse(text: str) -> dict:
        return parse_json_object(text, flag)
    parse.__name__ = "JSON object"
    return parse


def _kv_option(text: str) -> tuple[str, Any]:
    import argparse

    import yaml

    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip().replace("-", "_"), yaml.safe_load(value)


def add_config_arguments(parser, config_cls) -> None:
    """One option per field of a config dataclass, from the field's metadata (help, flag, aliases, section, choices,
    metavar, style, const; see agents/training/options.py). Options default to argparse.SUPPRESS, so the parsed
    namespace holds only what was typed (``config_overrides`` collects it) and a YAML file or the dataclass supplies
    the rest. The help shows each field's default; aliases (older spellings) parse but are not shown."""
    import argparse
    import dataclasses
    import typing

    hints = typing.get_type_hints(config_cls)
    groups: dict[str, Any] = {}
    for f in dataclasses.fields(config_cls):
        meta = f.metadata
        if not meta.get("cli", True):
            continue
        section = meta.get("section")
        target = parser if section is None else groups.setdefault(section, parser.add_argument_group(section))
        flag = meta.get("flag") or "--" + f.name.replace("_", "-")
        kind, _ = _field_kind(hints[f.name])
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        shown = "" if default in (None, {}, [], "", ()) else \
            f" (default: {','.join(map(str, default)) if isinstance(default, (list, tuple)) else default})"
        kwargs: dict[str, Any] = dict(dest=f.name, default=argparse.SUPPRESS, help=(meta.get("help") or "") + shown)
        if meta.get("metavar") or (kind is not bool and not meta.get("choices")):
            kwargs["metavar"] = meta.get("metavar") or flag.lstrip("-").upper().replace("-", "_")
        if meta.get("choices"):
            kwargs["choices"] = list(meta["choices"])
        style = meta.get("style")
        if kind is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif style == "append":
            kwargs.update(action="append", type=str)
        elif style == "comma":
            kwargs["type"] = lambda text: [t.strip() for t in text.split(",") if t.strip()]
        elif style == "json":
            kwargs["type"] = _json_option(flag)
        elif style == "kv":
            kwargs.update(action="append", type=_kv_option)
        else:
            kwargs["type"] = kind if kind in (int, float, str) else str
        if meta.get("const") is not None:
            kwargs.update(nargs="?", const=meta["const"])
        target.add_argument(flag, **kwargs)
        for alias in meta.get("aliases") or ():
            target.add_argument(alias, **{**kwargs, "help": argparse.SUPPRESS})


def config_overrides(args, config_cls) -> dict[str, Any]:
    """The config fields the command line set (``add_config_arguments`` options), by field name; repeated KEY=VALUE
    options become one dict."""
    import dataclasses

    out: dict[str, Any] = {}
    for f in dataclasses.fields(config_cls):
        if hasattr(args, f.name):
            value = getattr(args, f.name)
            out[f.name] = dict(value) if f.metadata.get("style") == "kv" else value
    return out
