"""The progress display of long work (evaluation, training, generation, pretraining): on a terminal, a rich bar on
stderr with count, rate and ETA; when stderr is a file or a pipe (a log, ``| tee``, CI), plain lines at most every
``every_s`` seconds and at every tenth of the work, which read well in a log (a live bar there shows nothing until
the end). rich is imported on first use.

Both kinds take the same calls: ``add_task(description, total=, completed=, **fields)``, ``update(task, advance=,
completed=, **fields)``, ``start()``, ``stop()``, ``refresh()``, and ``with progress_bar() as bar``.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

__all__ = ["progress_bar", "PlainProgress", "stderr_is_terminal"]


def stderr_is_terminal() -> bool:
    """Whether progress goes to a terminal (``RLVR_GYM_PLAIN_PROGRESS=1`` forces plain lines)."""
    if os.environ.get("RLVR_GYM_PLAIN_PROGRESS", "").strip() in ("1", "true", "yes"):
        return False
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):   # a replaced or closed stderr
        return False


def progress_bar(transient: bool = False, *, plain: bool | None = None, every_s: float = 10.0):
    """A progress display on stderr: a rich Progress with count, rate and ETA columns (a task's ``status`` field is
    shown too) on a terminal, else ``PlainProgress`` lines. ``plain`` forces one or the other."""
    if plain is None:
        plain = not stderr_is_terminal()
    if plain:
        return PlainProgress(every_s=every_s)
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


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}:{seconds:02d}"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}"


@dataclass
class _Task:
    description: str
    total: float | None
    completed: float
    fields: dict[str, Any]
    started: float
    initial: float                    # where the count began (a resumed run starts above 0)
    last_print: float = 0.0
    last_tenth: int = -1
    finished: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class _Live:
    """Stands in for rich's ``Progress.live`` (callers may switch its auto refresh off)."""

    auto_refresh = False


class PlainProgress:
    """Progress as plain lines for logs and pipes (see the module docstring): ``DESCRIPTION: N/TOTAL (P%) RATE/s
    STATUS, elapsed E, eta T``, printed when a task starts, at most every ``every_s`` seconds, at each new tenth of
    the total, and when it completes."""

    def __init__(self, every_s: float = 10.0, stream: TextIO | None = None, clock=time.monotonic):
        self.every_s = float(every_s)
        self._stream = stream
        self._clock = clock
        self._tasks: dict[int, _Task] = {}
        self.live = _Live()

    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stderr

    @property
    def console(self):
        """A rich Console on the same stream, for messages printed alongside the progress lines."""
        from rich.console import Console

        return Console(file=self.stream, highlight=False, width=200)

    # -- rich Progress's calls ------------------------------------------------------------------------------------
    def add_task(self, description: str, total: float | None = 100.0, completed: float = 0, start: bool = True,
                 **fields: Any) -> int:
        task_id = len(self._tasks)
        now = self._clock()
        task = _Task(description=description, total=total, completed=completed, fields=dict(fields), started=now,
                     initial=completed)
        self._tasks[task_id] = task
        self._emit(task, now)
        return task_id

    def update(self, task_id: int, *, total: float | None = None, completed: float | None = None,
               advance: float | None = None, description: str | None = None, refresh: bool = False,
               **fields: Any) -> None:
        task = self._tasks[task_id]
        if total is not None:
            task.total = total
        if completed is not None:
            task.completed = completed
        if advance is not None:
            task.completed += advance
        if description is not None:
            task.description = description
        task.fields.update(fields)
        now = self._clock()
        tenth = self._tenth(task)
        done = task.total is not None and task.completed >= task.total
        if done and not task.finished:
            task.finished = True
            self._emit(task, now)
        elif not done and (now - task.last_print >= self.every_s or tenth > task.last_tenth):
            self._emit(task, now)

    def advance(self, task_id: int, advance: float = 1) -> None:
        self.update(task_id, advance=advance)

    def start(self) -> None:
        pass

    def refresh(self) -> None:
        pass

    def stop(self) -> None:
        """Ends the display: a last line for every task that did not reach its total (interrupted work)."""
        now = self._clock()
        for task in self._tasks.values():
            if not task.finished and task.completed != task.initial:
                task.finished = True
                self._emit(task, now, final=True)

    def __enter__(self) -> "PlainProgress":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- lines ----------------------------------------------------------------------------------------------------
    @staticmethod
    def _tenth(task: _Task) -> int:
        if not task.total:
            return -1
        return int(10 * min(task.completed, task.total) / task.total)

    def line(self, task_id: int, now: float | None = None) -> str:
        """The line for a task as it stands."""
        task = self._tasks[task_id]
        return self._format(task, self._clock() if now is None else now)

    def _format(self, task: _Task, now: float) -> str:
        elapsed = max(now - task.started, 0.0)
        done = task.completed
        count = f"{done:g}" if task.total is None else f"{done:g}/{task.total:g}"
        parts = [f"{task.description}: {count}"]
        if task.total:
            parts[0] += f" ({100 * done / task.total:.0f}%)"
        rate = (done - task.initial) / elapsed if elapsed > 0 else 0.0
        status = task.fields.get("status")
        if rate > 0 and not (isinstance(status, str) and status.endswith("/s")):   # a status may state the rate
            parts.append(f"{rate:.3g}/s" if rate >= 0.1 else f"{1 / rate:.3g} s each")
        if status:
            parts.append(str(status))
        tail = f"elapsed {_duration(elapsed)}"
        if task.total and rate > 0 and done < task.total:
            tail += f", eta {_duration((task.total - done) / rate)}"
        parts.append(tail)
        return " ".join(parts[:-1]) + ", " + parts[-1] if len(parts) > 1 else parts[0]

    def _emit(self, task: _Task, now: float, final: bool = False) -> None:
        task.last_print = now
        task.last_tenth = self._tenth(task)
        text = self._format(task, now) + (" (stopped)" if final else "")
        try:
            print(text, file=self.stream, flush=True)
        except (OSError, ValueError):   # a closed pipe must not stop the work
            pass
