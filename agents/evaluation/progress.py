"""The progress display of long work (evaluation, training, generation): a rich bar on stderr with count, rate and
ETA. rich is imported on first use."""

from __future__ import annotations

__all__ = ["progress_bar"]


def progress_bar(transient: bool = False):
    """A rich Progress on stderr with count, rate and ETA columns (a task's ``status`` field is shown too)."""
    from rich.console import Console
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
        console=Console(stderr=True, highlight=False),
        transient=transient,
    )
