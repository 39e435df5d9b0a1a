"""Plotting pieces every trainer here shares: matplotlib on the file-only Agg backend, one way to save a figure,
moving means, JSONL metrics files, and a plain multi-curve plot (the benchmarks use it).

matplotlib is imported inside the functions, so nothing here needs a display and start-up stays light.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

__all__ = ["pyplot", "save_figure", "smooth", "read_jsonl", "plot_curves"]


def read_jsonl(path: str | Path) -> list[dict]:
    """The JSON objects of a JSONL file, one per non-empty line ([] when the file does not exist)."""
    path = Path(path)
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def pyplot():
    """matplotlib.pyplot on the file-only Agg backend (imported on first use: keeps start-up light)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: str | Path) -> Path:
    """Lay out, write as PNG (dpi 110) and close ``fig``; returns the path."""
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    pyplot().close(fig)
    return path


def smooth(values: Sequence[float], window: int) -> list[float]:
    """The trailing moving mean over `window` values."""
    out, acc = [], []
    for v in values:
        acc.append(v)
        if len(acc) > window:
            acc.pop(0)
        out.append(sum(acc) / len(acc))
    return out


def plot_curves(curves: dict[str, tuple[Sequence[float], Sequence[float]]], path: str | Path, *, title: str,
                ylabel: str, smooth: int = 1) -> Path:
    """One line per name: curves[name] = (x, y). Used by the benchmarks."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, (x, y) in curves.items():
        ax.plot(list(x), smooth(list(y), smooth) if smooth > 1 else list(y), lw=1.6, label=name)
    ax.set_title(title)
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    return save_figure(fig, path)
