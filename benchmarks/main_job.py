"""The main job over seeds: run `bash scripts/main.sh` (the README's command) once per seed, exactly as a user
would, and record held-out accuracy before and after, the wall time and the training curve of each run.

    python benchmarks/main_job.py --seeds 0 1 2          # ~15 minutes per seed on an idle 2-core machine
    python benchmarks/main_job.py --seeds 0 --jobs 1 --extra --max-steps 2   # a smoke run

Each seed trains in its own run folder (WORKDIR/seed<k>, resumable: a finished run is only re-read). The
held-out set is the same for every seed (the config's eval_seed), so "before" is one number and the spread of
"after" is the training seed's. Writes benchmarks/results/main_job.md / .json and main_job_curves.png
(training reward per step and held-out accuracy before/after, per seed).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from machine import machine_info, machine_line  # noqa: E402


def run_seed(seed: int, workdir: Path, extra: list[str]) -> dict:
    out = workdir / f"seed{seed}"
    if not (out / "eval_after.json").exists():
        env = {**os.environ, "OUT": str(out), "SEED": str(seed), "OMP_NUM_THREADS": "1"}
        start = time.perf_counter()
        log = (workdir / f"seed{seed}.log").open("w")
        proc = subprocess.run(["bash", "scripts/main.sh", *extra], cwd=ROOT, env=env, stdout=log,
                              stderr=subprocess.STDOUT, text=True)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            return {"seed": seed, "error": f"scripts/main.sh exit {proc.returncode}, log {workdir}/seed{seed}.log"}
        (out / "wall_s.txt").write_text(f"{wall:.1f}\n")
    wall = float((out / "wall_s.txt").read_text()) if (out / "wall_s.txt").exists() else None
    before = json.loads((out / "eval_before.json").read_text())
    after = json.loads((out / "eval_after.json").read_text())
    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if line.strip()]
    metrics = [m for m in metrics if "reward" in m]
    episodes = sum(v["episodes"] for v in after["by_env"].values())
    failures = {name: _failure_kinds(out / name) for name in ("eval_before", "eval_after")}
    return {"seed": seed, "before": before["accuracy"], "after": after["accuracy"], "episodes": episodes,
            "wall_s": wall, "steps": len(metrics), "failures": failures, "train_s": metrics[-1]["time"] if metrics else None,
            "reward": [m["reward"] for m in metrics], "completion_length": [m["completion_length"] for m in metrics]}


def _failure_kinds(folder: Path) -> dict:
    """Held-out replies of one evaluation: distinct questions, and the wrong ones split into replies that
    answer at once ("7 * 8 = 54") and replies that start some other way (usually a preamble cut at the budget)."""
    rows = [json.loads(line) for f in folder.glob("*/results.jsonl") for line in f.read_text().splitlines()]
    direct = re.compile(r"^\s*-?\d+\s*[-+*x]\s*-?\d+\s*=")
    wrong = [r for r in rows if not r["correct"]]
    return {"distinct_questions": len({r["prompt"].split("\n")[0] for r in rows}),
            "wrong_direct": sum(bool(direct.match(r["response"] or "")) for r in wrong),
            "wrong_other": sum(not direct.match(r["response"] or "") for r in wrong)}


def plot(rows: list[dict], path: Path) -> None:
    from rlvr_gym.agents.training.plots import pyplot, save_figure

    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    for r in rows:
        ax1.plot(range(1, len(r["reward"]) + 1), r["reward"], label=f"seed {r['seed']}", alpha=0.8)
        ax2.plot([0, 1], [100 * r["before"], 100 * r["after"]], marker="o", label=f"seed {r['seed']}")
    ax1.set(xlabel="step", ylabel="training reward (mean of 16 samples)", title="training reward", ylim=(0, 1.05))
    ax2.set(xticks=[0, 1], xticklabels=["before", "after"], ylabel="held-out accuracy (%)", title="held-out (greedy)")
    ax1.legend(fontsize=8)
    ax2.legend(fontsize=8)
    save_figure(fig, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=1, help="seeds in parallel (each uses one core)")
    parser.add_argument("--workdir", default="/tmp/rlvr_main_job")
    parser.add_argument("--out", default="benchmarks/results/main_job")
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="flags passed on to scripts/main.sh")
    args = parser.parse_args(argv)
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        rows = list(pool.map(lambda s: run_seed(s, workdir, args.extra), args.seeds))
    failed = [r for r in rows if "error" in r]
    rows = [r for r in rows if "error" not in r]
    for r in failed:
        print(f"seed {r['seed']}: {r['error']}", file=sys.stderr)
    if not rows:
        return 1
    info = machine_info()
    deltas = [r["after"] - r["before"] for r in rows]
    summary = {"machine": info, "jobs": args.jobs, "extra": args.extra, "runs": rows, "failed": failed,
               "mean_before": statistics.mean(r["before"] for r in rows),
               "mean_after": statistics.mean(r["after"] for r in rows),
               "mean_delta": statistics.mean(deltas), "min_delta": min(deltas), "max_delta": max(deltas)}
    out = ROOT / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(summary, indent=1) + "\n")
    plot(rows, out.parent / (out.name + "_curves.png"))
    lines = [
        "# The main job over seeds: held-out accuracy before and after",
        "",
        f"Machine: {machine_line(info)}. {args.jobs} seed(s) at a time, one torch thread each.",
        "",
        f"Command: `python benchmarks/main_job.py --seeds {' '.join(map(str, args.seeds))} --jobs {args.jobs}"
        + (f" --extra {' '.join(args.extra)}" if args.extra else "") + "` (each seed runs `bash scripts/main.sh` "
        "with OUT and SEED set; settings in configs/main_cpu.yaml).",
        "",
        "| seed | steps | train loop (s) | whole job (s) | held-out before | after | change |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(f"| {r['seed']} | {r['steps']} | {r['train_s']:.0f} | {r['wall_s'] or float('nan'):.0f} | "
                     f"{r['before']:.1%} | {r['after']:.1%} | {r['after'] - r['before']:+.1%} |")
    lines += ["", f"Mean over {len(rows)} seeds: {summary['mean_before']:.1%} -> {summary['mean_after']:.1%} "
              f"({summary['mean_delta']:+.1%}; per seed {summary['min_delta']:+.1%} to {summary['max_delta']:+.1%}) "
              f"on {rows[0]['episodes']} held-out problems.", "",
              "Wrong held-out replies, by kind (direct = the reply starts \"a op b =\" with a wrong result; other = "
              "anything else, mostly a preamble such as \"To solve this problem, we need to ...\" cut off at the "
              "token budget):", "",
              "| seed | distinct held-out questions | before: direct / other | after: direct / other |",
              "| --- | --- | --- | --- |"]
    for r in rows:
        fb, fa = r["failures"]["eval_before"], r["failures"]["eval_after"]
        lines.append(f"| {r['seed']} | {fb['distinct_questions']} | {fb['wrong_direct']} / {fb['wrong_other']} | "
                     f"{fa['wrong_direct']} / {fa['wrong_other']} |")
    lines += ["",
              f"![curves]({out.name}_curves.png)", ""]
    out.with_suffix(".md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0 if not failed else 1


if __name__ == "__main__":
    raise SystemExit(main())
