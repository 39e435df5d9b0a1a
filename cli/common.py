"""Helpers shared by the ``rlvr`` subcommands: consoles, error reporting, JSON options, seeds.

Kept light: rich is imported only when a console is first asked for, so ``rlvr --help`` stays fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


class CLIError(Exception):
    """A user error the CLI reports as one line (exit code 2): bad option, missing file, bad spec."""


def console(stderr: bool = False):
    """A rich Console on stdout (results) or stderr (progress, messages)."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


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


def jsonable(value: Any) -> Any:
    """A JSON-ready copy of ``value``: dicts/lists/scalars kept, objects with to_dict() converted,
    anything else turned into its str()."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        try:
            return value.item()
        except Exception:
            pass
    if hasattr(value, "to_dict") and callable(value.to_dict):
        return jsonable(value.to_dict())
    return str(value)


def progress_bar(transient: bool = False):
    """A rich Progress on stderr with count, rate and ETA columns."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console(stderr=True),
        transient=transient,
    )
