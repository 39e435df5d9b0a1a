"""PNG plots of a GRPO run folder: reward and accuracy per step and held-out accuracy by step (``plot_run``), and
for GDRO runs the Prompt-GDRO bin weights over time and the Rollout-GDRO allocation heat-map (``plot_gdro_run``).

Input: metrics rows (dicts, one per step, as in a run's metrics.jsonl) with the keys of ``agents/grpo/gdro.py``,
either bare (``gdro/weight/3``) or as the trainer logs them (``curriculum/gdro/weight/3``). matplotlib (Agg
backend) is imported only when a plot is drawn.

    from rlvr_gym.agents.grpo.plots import plot_gdro_run
    plot_gdro_run("runs/rgdro")     # writes gdro_weights.png and/or gdro_allocation.png next to metrics.jsonl
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterable

from rlvr_gym.agents.training.plots import pyplot, read_jsonl, save_figure, smooth

__all__ = ["plot_run", "series_by_bin", "plot_bin_weights", "plot_allocation_heatmap", "plot_gdro_run"]

PREFIX = "curriculum/"


def _bin_order(name: str):
    return (1, -1) if name == "unseen" else (0, int(name)) if name.lstrip("-").isdigit() else (2, name)


def series_by_bin(rows: Iterable[dict], kind: str) -> tuple[list[int], dict[str, list[float]]]:
    """(steps, {bin name: values per step (NaN where absent)}) for ``gdro/<kind>/<bin>`` keys."""
    rows = list(rows)
    stem = f"gdro/{kind}/"
    names: set[str] = set()
    for r in rows:
        for k in r:
            k2 = k[len(PREFIX):] if k.startswith(PREFIX) else k
            if k2.startswith(stem):
                names.add(k2[len(stem):])
    steps = [int(r.get("step", i)) for i, r in enumerate(rows)]
    out = {}
    for name in sorted(names, key=_bin_order):
        vals = []
        for r in rows:
            v = r.get(stem + name, r.get(PREFIX + stem + name))
            vals.append(float(v) if isinstance(v, (int, float)) else math.nan)
        out[name] = vals
    return steps, out


def plot_bin_weights(rows: Iterable[dict], path: str | Path, *, kind: str = "weight",
                     title: str = "Prompt-GDRO: per-sample weight of each bin") -> Path | None:
    """Line plot of ``gdro/<kind>/<b>`` over steps (kind "weight" or "q"); None if there is nothing to draw."""
    steps, series = series_by_bin(rows, kind)
    if not series:
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    cmap = plt.get_cmap("viridis")
    for j, (name, vals) in enumerate(series.items()):
        ax.plot(steps, vals, label=f"bin {name}", color=cmap(j / max(len(series) - 1, 1)), lw=1.2)
    ax.set_xlabel("step")
    ax.set_ylabel(kind)
    ax.set_title(title)
    ax.legend(fontsize=7, ncol=2)
    return save_figure(fig, path)


def plot_allocation_heatmap(rows: Iterable[dict], path: str | Path, *,
                            title: str = "Rollout-GDRO: rollouts per prompt (bins x steps)") -> Path | None:
    """Heat-map of ``gdro/rollouts/<b>`` (realised mean rollouts per prompt of bin b; blank = bin absent)."""
    steps, series = series_by_bin(rows, "rollouts")
    if not series:
        return None
    import numpy as np

    plt = pyplot()
    names = list(series)
    grid = np.array([series[n] for n in names], dtype=float)
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(names) + 1.8))
    im = ax.imshow(np.ma.masked_invalid(grid), aspect="auto", origin="lower", cmap="magma", interpolation="nearest",
                   extent=(steps[0] - 0.5, steps[-1] + 0.5, -0.5, len(names) - 0.5))
    ax.set_yticks(range(len(names)), [f"bin {n}" for n in names])
    ax.set_xlabel("step")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, label="rollouts per prompt")
    return save_figure(fig, path)


def plot_gdro_run(run_dir: str | Path) -> list[Path]:
    """Both plots for a run folder's metrics.jsonl (those whose keys are present)."""
    run_dir = Path(run_dir)
    rows = read_jsonl(run_dir / "metrics.jsonl")
    made = [plot_bin_weights(rows, run_dir / "gdro_weights.png"),
            plot_allocation_heatmap(rows, run_dir / "gdro_allocation.png")]
    return [p for p in made if p is not None]


def plot_run(out: str | Path) -> list[Path]:
    """reward.png (reward and accuracy per step, raw and smoothed) and heldout.png (held-out accuracy by step)
    from out/metrics.jsonl and out/heldout.jsonl. Returns the files written."""
    out = Path(out)
    plt = pyplot()
    written = []
    metrics = [r for r in read_jsonl(out / "metrics.jsonl") if "reward" in r]
    if metrics:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        steps = [r["step"] for r in metrics]
        for key, color in (("reward", "tab:blue"), ("accuracy", "tab:green")):
            values = [r.get(key) for r in metrics]
            if all(isinstance(v, (int, float)) for v in values):
                ax.plot(steps, values, color=color, alpha=0.3, lw=1)
                ax.plot(steps, smooth(values, 5), color=color, lw=2, label=f"{key} (5-step mean)")
        ax.set_xlabel("step")
        ax.set_ylabel("training batch")
        ax.set_title("GRPO training reward")
        ax.grid(alpha=0.3)
        ax.legend()
        written.append(save_figure(fig, out / "reward.png"))
    heldout = read_jsonl(out / "heldout.jsonl")
    if heldout:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        heldout.sort(key=lambda r: r["step"])
        ax.plot([r["step"] for r in heldout], [r["accuracy"] for r in heldout], "o-", label="accuracy (solved)")
        ax.plot([r["step"] for r in heldout], [r["mean_reward"] for r in heldout], "s--", label="mean reward")
        ax.set_xlabel("step")
        ax.set_ylabel("held-out")
        ax.set_ylim(-0.02, 1.02)
        ax.set_title("Held-out evaluation")
        ax.grid(alpha=0.3)
        ax.legend()
        written.append(save_figure(fig, out / "heldout.png"))
    return written
