"""Does GRPO lift the embedded SmolLM2-135M on Temporal Clue? The seed's claim (Qwen2.5-14B 28% -> 59%) in
miniature: GRPO + LoRA on CPU, the tiny preset, several training seeds, held-out puzzles never trained on.

    python benchmarks/temporal_clue_grpo.py --seeds 0 1 2           # the committed run
    python benchmarks/temporal_clue_grpo.py --config benchmarks/configs/temporal_clue_grpo_plain.yaml \
        --name temporal_clue_grpo_plain --seeds 0                   # the baseline: no format reward
    python benchmarks/temporal_clue_grpo.py --seeds 0 --extra --max-steps 2 --eval-size 4   # checks the script

Each seed is one `rlvr train --config benchmarks/configs/temporal_clue_grpo.yaml --seed S --out WORKDIR/seedS`
(WORKDIR: runs/NAME unless --workdir)
(the command a user types; a finished run is only re-read, a killed one resumes). Training puzzles come from
the seed, held-out puzzles from the config's eval_seed (the same 32 for every seed); the script checks that no
held-out prompt is a training prompt.

Reported per seed, before and after training (greedy, on the held-out puzzles):
- reward (fraction of lettered questions right, strict grading) and solved rate (every question right);
- format: sheets whose every lettered line parsed, and the share of lines that name exactly one admissible
  answer (the format gain: the base model mostly copies clue sentences instead of naming an answer);
- deduction: accuracy on those named lines next to what a uniformly random admissible answer would score on
  the same lines (the deduction gain is accuracy above that baseline);
- training: mean reward per step and the share of groups whose samples all scored the same (no learning signal).

Writes benchmarks/results/temporal_clue_grpo.{md,json}, temporal_clue_grpo_curves.png, and the small files of
each run (metrics, held-out replies) under benchmarks/results/temporal_clue_grpo_runs/seedS/.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "benchmarks"
sys.path.insert(0, str(HERE))
from machine import load_average, machine_info  # noqa: E402
from temporal_clue_small_calibration import summarise_rows  # noqa: E402

CONFIG = HERE / "configs" / "temporal_clue_grpo.yaml"   # --config: another one (e.g. temporal_clue_grpo_plain.yaml)
KEEP = ("config.yaml", "metrics.jsonl", "heldout.jsonl", "eval_before.json", "eval_after.json", "result.json")


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


def eval_rows(run: Path, name: str) -> list[dict]:
    return [row for f in sorted((run / name).glob("*/results.jsonl")) for row in read_jsonl(f)]


def training_prompts(config: dict, seed: int) -> set[str]:
    """The user-message text of every training row of this seed (rebuilt by the row rule training uses)."""
    from rlvr_gym.envs.export import episode_row
    from rlvr_gym.envs.registration import make_env

    prompts = set()
    for env_id in config["env"]:
        env = make_env(env_id, **config.get("env_kwargs", {}).get(env_id, {}))
        for i in range(int(config["train_size"])):
            prompts.add(episode_row(env, env_id, seed, i)["prompt"][-1]["content"])
        env.close()
    return prompts


def run_seed(seed: int, workdir: Path, extra: list[str], config: dict, config_path: Path) -> dict:
    out = workdir / f"seed{seed}"
    log_path = workdir / f"seed{seed}.log"
    if not (out / "eval_after.json").is_file():
        argv = ["rlvr", "train", "--config", str(config_path), "--seed", str(seed), "--out", str(out), *extra]
        if (out / "config.yaml").is_file():
            argv.append("--resume")
        print(f"$ {' '.join(argv)}   (log {log_path})", flush=True)
        load_before, start = load_average(), time.perf_counter()
        with log_path.open("a") as log:
            proc = subprocess.run(argv, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"}, stdout=log,
                                  stderr=subprocess.STDOUT, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"seed {seed}: rlvr train exited with {proc.returncode}; see {log_path}")
        (out / "bench_meta.json").write_text(json.dumps({
            "command": " ".join(argv), "wall_s": round(time.perf_counter() - start, 1),
            "load_before": load_before, "load_after": load_average()}) + "\n")
    meta = json.loads((out / "bench_meta.json").read_text()) if (out / "bench_meta.json").is_file() else {}
    before, after = eval_rows(out, "eval_before"), eval_rows(out, "eval_after")
    metrics = [m for m in read_jsonl(out / "metrics.jsonl") if "reward" in m]
    train = training_prompts(config, seed)
    overlap = sum(r["prompt"] in train for r in after)
    return {"seed": seed, **meta, "before": summarise_rows(before), "after": summarise_rows(after),
            "heldout_in_training": overlap, "steps": len(metrics),
            "reward": [m["reward"] for m in metrics],
            "zero_std": [m.get("frac_reward_zero_std") for m in metrics],
            "heldout": read_jsonl(out / "heldout.jsonl")}


def keep_small_files(run: Path, dest: Path) -> None:
    """Copy what the results table is built from (no weights) next to the results."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name in KEEP:
        if (run / name).is_file():
            shutil.copy2(run / name, dest / name)
    for name in ("eval_before", "eval_after"):
        for f in (run / name).glob("*/results.jsonl"):
            target = dest / name / f.parent.name
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, target / f.name)


def fmt(x, spec=".3f") -> str:
    return "-" if x is None else format(x, spec)


def to_markdown(result: dict) -> str:
    m = result["machine"]
    lines = ["# Temporal Clue: GRPO + LoRA on the embedded model (CPU)", "",
             f"Command: `{result['command']}`; config `{result['config_file']}` "
             f"({result['config']['max_steps']} steps x {result['completions_per_step']} completions, "
             f"{result['config']['num_generations']} per prompt, lr {result['config']['learning_rate']}).", "",
             f"Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, torch {m.get('torch')}, one torch "
             f"thread, {m['date']}; the load average before/after each seed is in the cost lines (the machine was "
             "shared with other jobs).", "",
             "Held-out: the same puzzles for every seed (eval_seed), greedy; none of them is a training prompt "
             "(checked: column 'in train'). Named lines: answer lines naming exactly one admissible answer; "
             "their accuracy next to a random admissible answer's on the same lines (in brackets).", "",
             "| seed | reward before -> after | solved | sheets parsed | lines named | named-line accuracy (random) "
             "| training reward (with any format reward) first -> last 4 steps | groups without signal | in train |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in result["seeds"]:
        b, a = r["before"], r["after"]
        acc = lambda s: "-" if s["named_accuracy"] is None else \
            f"{s['named_accuracy']:.2f} ({s['named_random_expectation']:.2f}, n={s['named_lines']})"  # noqa: E731
        first = statistics.fmean(r["reward"][:4]) if r["reward"] else None
        last = statistics.fmean(r["reward"][-4:]) if r["reward"] else None
        zs = [z for z in r["zero_std"] if z is not None]
        lines.append(
            f"| {r['seed']} | {b['mean_reward']:.3f} -> {a['mean_reward']:.3f} | {b['solved']:.0%} -> {a['solved']:.0%} "
            f"| {b['format_rate']:.0%} -> {a['format_rate']:.0%} | {b['named_line_rate']:.0%} -> {a['named_line_rate']:.0%} "
            f"| {acc(b)} -> {acc(a)} | {fmt(first)} -> {fmt(last)} "
            f"| {fmt(statistics.fmean(zs) if zs else None, '.0%')} | {r['heldout_in_training']} |")
    s = result["summary"]
    lines += ["", f"Mean over seeds: reward {s['before']:.3f} -> {s['after']:.3f} (after: std {s['after_std']:.3f}); "
              f"random admissible answers on the same puzzles: {s['random']:.3f}.", "", "Cost:", ""]
    for r in result["seeds"]:
        lines.append(f"- seed {r['seed']}: {r.get('wall_s')} s wall, load {r.get('load_before')} -> "
                     f"{r.get('load_after')}; `{r.get('command')}`")
    if result.get("note"):
        lines += ["", result["note"]]
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], path: Path) -> None:
    from rlvr_gym.agents.training.plots import pyplot, save_figure

    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    for r in rows:
        ax1.plot(range(1, len(r["reward"]) + 1), r["reward"], label=f"seed {r['seed']}", alpha=0.8)
        ax2.plot([0, 1], [r["before"]["mean_reward"], r["after"]["mean_reward"]], marker="o", label=f"seed {r['seed']}")
    ax1.set(xlabel="step", ylabel="training reward (mean per step)", title="training reward", ylim=(0, 1.05))
    ax2.set(xticks=[0, 1], xticklabels=["before", "after"], ylabel="held-out reward", title="held-out (greedy)",
            ylim=(0, 1.05))
    ax1.legend(fontsize=8)
    ax2.legend(fontsize=8)
    save_figure(fig, path)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--config", type=Path, default=CONFIG, help="the rlvr train config (YAML)")
    parser.add_argument("--name", default="temporal_clue_grpo", help="results file names: NAME.md, NAME.json ...")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="run folders (seed<k>), kept for resuming (default runs/NAME)")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="where the results files go")
    parser.add_argument("--note", default="", help="a paragraph appended to the markdown")
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[],
                        help="everything after --extra goes to rlvr train (a smoke run: --max-steps 2 --eval-size 4)")
    args = parser.parse_args(argv)
    import yaml

    config = yaml.safe_load(args.config.read_text())
    args.workdir = args.workdir or ROOT / "runs" / args.name
    args.workdir.mkdir(parents=True, exist_ok=True)
    rows = []
    for seed in args.seeds:
        rows.append(run_seed(seed, args.workdir, args.extra, config, args.config))
        print(f"seed {seed}: held-out reward {rows[-1]['before']['mean_reward']:.3f} -> "
              f"{rows[-1]['after']['mean_reward']:.3f}", flush=True)
    after = [r["after"]["mean_reward"] for r in rows]
    result = {
        "command": "python benchmarks/temporal_clue_grpo.py " + " ".join(
            f"--seeds {' '.join(map(str, args.seeds))}".split()
            + ([] if args.config == CONFIG else ["--config", str(args.config)])
            + ([] if args.name == "temporal_clue_grpo" else ["--name", args.name])
            + ([] if args.workdir == ROOT / "runs" / args.name else ["--workdir", str(args.workdir)])
            + (["--extra", *args.extra] if args.extra else [])),   # --note (prose) left out
        "machine": machine_info(["torch", "transformers", "trl", "peft"]), "config": config,
        "config_file": str(args.config.resolve().relative_to(ROOT)) if args.config.resolve().is_relative_to(ROOT)
        else str(args.config),
        "completions_per_step": config["per_device_train_batch_size"] * config.get("gradient_accumulation_steps", 1),
        "seeds": rows, "note": args.note,
        "summary": {"before": statistics.fmean(r["before"]["mean_reward"] for r in rows),
                    "after": statistics.fmean(after), "after_std": statistics.pstdev(after) if len(after) > 1 else 0.0,
                    "random": statistics.fmean(r["after"]["random_expectation"] for r in rows)},
    }
    if not args.extra:   # a smoke run (extra flags) does not overwrite the committed results
        args.out.mkdir(parents=True, exist_ok=True)
        for r in rows:
            keep_small_files(args.workdir / f"seed{r['seed']}", args.out / f"{args.name}_runs" / f"seed{r['seed']}")
        (args.out / f"{args.name}.json").write_text(json.dumps(result, indent=1) + "\n")
        (args.out / f"{args.name}.md").write_text(to_markdown(result))
        plot(rows, args.out / f"{args.name}_curves.png")
    print(to_markdown(result))
    return result


if __name__ == "__main__":
    main()
