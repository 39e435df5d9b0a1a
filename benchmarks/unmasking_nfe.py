"""Accuracy vs NFE on Unmasking-v0 at CPU scale: learned unmasking policies vs heuristics.

    nice -n 19 python benchmarks/unmasking_nfe.py                  # train the policies, evaluate, write results
    nice -n 19 python benchmarks/unmasking_nfe.py --skip-train     # re-evaluate existing checkpoints
    python benchmarks/unmasking_nfe.py --quick                     # a smoke run (tiny budgets)

Backbone: the embedded tiny diffusion LM (``rlvr dllm pretrain``); task: its first pretraining task (default
"permute": reorder 3-5 distinct letters; every ordering is right, so positions decoded together often take
the same letter, while each letter placed makes the rest surer). ``--task`` picks another one (e.g.
addition-pad, where the model is sure of every digit and the order hardly matters).
Settings (completion length L, block length BL):
  semi-AR   L = 8,  BL = 4  (two blocks)
  full      L = 8,  BL = 8  (full diffusion)
  transfer  L = 16, BL = 16 (policies trained on "full" at L = 8, evaluated at twice the length)
Agents: Fast-dLLM at several thresholds, top-k at several step budgets, random and left-to-right (one and two
tokens per step), and GRPO policies trained at several alpha (plus one additive-reward ablation), evaluated
by sampling at the checkpoint's tau (0.5 semi-AR, 1.0 full). Every agent plays the same held-out prompts
(task seed 1, items 0..N-1; pretraining used seed 0, policy training seed 2).

Writes benchmarks/results/unmasking_nfe.{json,md,png}; checkpoints go to runs/unmasking_nfe/ (not committed).
The md's discussion is written by hand after a run; this script writes the tables between the markers.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_info  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
RUNS = ROOT / "runs" / "unmasking_nfe"
SETTINGS = {"semi-AR": (8, 4), "full": (8, 8), "transfer": (16, 16)}
MARK_BEGIN, MARK_END = "<!-- tables:begin -->", "<!-- tables:end -->"


def policy_runs(alphas, quick):
    runs = []
    for alpha in alphas:
        runs.append({"name": f"semi-a{alpha:g}", "alpha": alpha, "block_length": 4, "reward_form": "multiplicative"})
        runs.append({"name": f"full-a{alpha:g}", "alpha": alpha, "block_length": 8, "reward_form": "multiplicative"})
    if not quick:
        runs.append({"name": "full-additive-a0.5", "alpha": 0.5, "block_length": 8, "reward_form": "additive"})
    return runs


def train_all(runs, steps, jobs, threads, task_spec=None):
    """Train the policies in parallel subprocesses (`rlvr dllm train-policy`); returns seconds per run."""
    pending, active, seconds = list(runs), {}, {}
    while pending or active:
        while pending and len(active) < jobs:
            run = pending.pop(0)
            out = RUNS / run["name"]
            cmd = [sys.executable, "-m", "rlvr_gym.cli.main", "dllm", "train-policy", "--out", str(out),
                   "--gen-length", "8", "--block-length", str(run["block_length"]), "--alpha", str(run["alpha"]),
                   "--reward-form", run["reward_form"], "--steps", str(steps), "--eval-every", str(max(1, steps // 4)),
                   "--threads", str(threads)] + (["--task", task_spec] if task_spec else [])
            out.mkdir(parents=True, exist_ok=True)
            log = (out / "train.log").open("w")
            active[run["name"]] = (subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT), time.time(), log)
            print(f"training {run['name']}", flush=True)
        time.sleep(2)
        for name, (proc, t0, log) in list(active.items()):
            if proc.poll() is not None:
                log.close()
                if proc.returncode != 0:
                    raise RuntimeError(f"training {name} failed; see {RUNS / name / 'train.log'}")
                seconds[name] = round(time.time() - t0, 1)
                print(f"done {name} in {seconds[name]} s", flush=True)
                del active[name]
    return seconds


def heuristic_specs(length, block_length):
    blocks = length // block_length
    specs = [f"fast-dllm:{lam}" for lam in (0.5, 0.7, 0.8, 0.9, 0.95, 0.99)]
    specs += [f"topk:{s}" for s in sorted({blocks, 2 * blocks, length // 2, length}) if s >= blocks]
    specs += [f"random:{length}", f"random:{length // 2}", f"l2r:{length}", f"l2r:{length // 2}"]
    return specs


def evaluate(items_n, runs, quick, task_spec=None, extra=()):
    import torch

    from rlvr_gym.agents.unmasking.policies import UnmaskingPolicyAgent, from_spec
    from rlvr_gym.agents.unmasking.train import run_episodes
    from rlvr_gym.envs.unmasking.dllm import MaskedDiffusionLM
    from rlvr_gym.envs.unmasking.env import UnmaskingBatch
    from rlvr_gym.envs.unmasking.tasks import make_task

    torch.set_num_threads(1)
    lm = MaskedDiffusionLM.from_pretrained(None)
    task = make_task(task_spec or (lm.trained_tasks or ["addition"])[0], seed=1)
    items = [task.item(i) for i in range(items_n)]
    points = []
    for setting, (length, block_length) in SETTINGS.items():
        core = UnmaskingBatch(lm, task, min(items_n, 256), length, block_length, alpha=1.0)
        agents = [("heuristic", spec, from_spec(spec, seed=0)) for spec in heuristic_specs(length, block_length)]
        candidates = [(run["name"], RUNS / run["name"] / "policy.pt") for run in runs]
        candidates += [(Path(d).name, Path(d) / "policy.pt") for d in extra]
        for name, path in candidates:
            if not path.is_file():
                continue
            agent = UnmaskingPolicyAgent.from_checkpoint(path, seed=0)
            trained_on = "semi-AR" if agent.meta.get("block_length") == 4 else "full"
            if (setting == "transfer" and trained_on != "full") or (setting != "transfer" and trained_on != setting):
                continue
            agents.append(("policy", name, agent))
        for family, name, agent in agents:
            result = run_episodes(core, agent, items)
            point = {"setting": setting, "L": length, "BL": block_length, "family": family, "agent": name,
                     "accuracy": round(result["accuracy"], 4), "mean_nfe": round(result["mean_nfe"], 3),
                     "seconds": round(result["seconds"], 2), "forward_calls": result["forward_calls"]}
            if family == "policy":
                point["tau"] = agent.tau
                point["alpha"] = agent.meta.get("alpha")
                point["reward_form"] = agent.meta.get("reward_form")
                point["train_seconds"] = agent.meta.get("train_seconds")
                cfg = Path(agent.name.split(":", 1)[1]).parent / "config.json"
                if cfg.is_file():
                    point["lr"] = json.loads(cfg.read_text()).get("lr")
            points.append(point)
            print(json.dumps(point), flush=True)
    return points, task.name


def family_of(point):
    if point["family"] == "policy":
        if point.get("reward_form") == "additive":
            return "policy (additive)"
        return "policy" if point.get("lr") in (None, 1e-3) else f"policy (lr {point['lr']:g})"
    return point["agent"].split(":")[0]


def plot(points, path, task_name):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    styles = {"fast-dllm": ("C0", "o-"), "topk": ("C1", "s-"), "random": ("C2", "v"), "l2r": ("C3", "^"),
              "policy": ("C4", "*"), "policy (lr 0.0003)": ("C6", "P"), "policy (additive)": ("C5", "X")}
    fig, axes = plt.subplots(1, len(SETTINGS), figsize=(5 * len(SETTINGS), 4), sharey=True)
    for ax, (setting, (length, block_length)) in zip(axes, SETTINGS.items()):
        for fam, (color, style) in styles.items():
            pts = sorted((p for p in points if p["setting"] == setting and family_of(p) == fam),
                         key=lambda p: p["mean_nfe"])
            if not pts:
                continue
            ax.plot([p["mean_nfe"] for p in pts], [p["accuracy"] for p in pts], style, color=color, label=fam,
                    ms=10 if fam.startswith("policy") else 6)
            if fam.startswith("policy"):
                for p in pts:
                    ax.annotate(f"a={p['alpha']:g}", (p["mean_nfe"], p["accuracy"]), fontsize=7,
                                textcoords="offset points", xytext=(4, -10))
        ax.set_title(f"{setting}: L={length}, BL={block_length}")
        ax.set_xlabel("mean NFE (forward passes)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("accuracy (held-out prompts)")
    handles = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    axes[0].legend(handles.values(), handles.keys(), fontsize=7)
    fig.suptitle(f"Unmasking-v0, embedded tiny diffusion LM, task {task_name}: accuracy vs NFE", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def tables(points):
    lines = []
    for setting, (length, block_length) in SETTINGS.items():
        lines += [f"### {setting} (L = {length}, BL = {block_length})", "",
                  "| agent | accuracy | mean NFE | tau |", "| --- | ---: | ---: | ---: |"]
        for p in sorted((p for p in points if p["setting"] == setting), key=lambda p: (p["family"], p["mean_nfe"])):
            tau = f"{p['tau']:g}" if "tau" in p else ""
            lines.append(f"| {p['agent']} | {p['accuracy']:.1%} | {p['mean_nfe']:.2f} | {tau} |")
        lines.append("")
    return "\n".join(lines)


def machine():
    return {**machine_info(["torch"]), "torch_threads": 1}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alphas", default="0.3,1,3,10")
    parser.add_argument("--steps", type=int, default=100, help="GRPO steps per policy")
    parser.add_argument("--items", type=int, default=256, help="held-out prompts per point")
    parser.add_argument("--jobs", type=int, default=3, help="policies trained in parallel")
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--extra", default="", help="comma-separated extra policy run directories to evaluate")
    parser.add_argument("--task", default=None, help="task spec (default: the backbone's first pretraining task)")
    args = parser.parse_args(argv)
    alphas = [float(a) for a in args.alphas.split(",")]
    if args.quick:
        alphas, args.steps, args.items = alphas[:1], 3, 32
    runs = policy_runs(alphas, args.quick)
    start = time.time()
    previous = RESULTS / "unmasking_nfe.json"
    train_seconds = json.loads(previous.read_text()).get("train_wall_seconds", {}) \
        if args.skip_train and previous.is_file() else {}
    train_seconds = train_seconds if args.skip_train else train_all(runs, args.steps, args.jobs, threads=1, task_spec=args.task)
    extra = [d for d in args.extra.split(",") if d]
    points, task_name = evaluate(args.items, runs, args.quick, args.task, extra)
    train_meta = {}
    for name, cfg in [(r["name"], RUNS / r["name"] / "config.json") for r in runs] + \
            [(Path(d).name, Path(d) / "config.json") for d in extra]:
        if cfg.is_file():
            train_meta[name] = {"config": json.loads(cfg.read_text())}
    if args.quick:
        print("quick run: results not written")
        return 0
    result = {"task": task_name, "points": points, "policies": train_meta, "train_wall_seconds": train_seconds,
              "items": args.items, "steps": args.steps, "machine": machine(),
              "total_wall_seconds": round(time.time() - start, 1)}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "unmasking_nfe.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    plot(points, RESULTS / "unmasking_nfe.png", task_name)
    md = RESULTS / "unmasking_nfe.md"
    block = f"{MARK_BEGIN}\n{tables(points)}\n{MARK_END}"
    if md.is_file() and MARK_BEGIN in md.read_text():
        text = md.read_text()
        head, rest = text.split(MARK_BEGIN, 1)
        md.write_text(head + block + rest.split(MARK_END, 1)[1], encoding="utf-8")
    else:
        md.write_text(f"# Unmasking-v0: accuracy vs NFE\n\n{block}\n", encoding="utf-8")
    print(f"wrote {RESULTS / 'unmasking_nfe.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
