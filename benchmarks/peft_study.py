"""The RLVR PEFT study (arXiv 2512.23165) in miniature: every method trains the same model on the same problems
with the same rollout budget, seeds and GRPO settings (only the adapter and, for full fine-tuning, a 10x lower
learning rate as in the paper differ); held-out accuracy before/after (`rlvr eval` harness) and training curves.

    python benchmarks/peft_study.py --model smollm2-135m --steps 10 --seeds 0 1           # the embedded model
    python benchmarks/peft_study.py --model tiny-random --steps 2 --methods lora ia3     # a smoke run

Writes benchmarks/results/peft_study.md (table, ordering vs the paper), peft_study.json, peft_study_reward.png
(training reward per step, mean over seeds) and peft_study_heldout.png. Each run is a fresh subprocess; a
finished run's result is kept next to its run folder (WORKDIR/<method>-s<seed>.result.json), so running the same
command again after an interruption only runs what is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

# Paper, DeepSeek-R1-Distill-Qwen-1.5B, average over six math benchmarks (spec/peft_rlvr.md).
PAPER_1_5B = {"dora": 46.6, "full": 44.9, "adalora": 44.2, "miss": 43.4, "lora": 42.5, "vera": 40.7, "ia3": 22.3,
              "milora": 18.0, "pissa": 0.2}
DEFAULT_METHODS = ["full", "lora", "dora", "adalora", "pissa", "vera", "miss", "ia3"]

CODE = r"""
import json, sys
from rlvr_gym.agents.grpo import TrainConfig, train
result = train(TrainConfig(**json.loads(sys.argv[1])))
print("RESULT " + json.dumps({**result.to_dict(), "metrics": result.metrics}))
"""


def run(config: dict) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(config.get("threads") or 1), "TRL_EXPERIMENTAL_SILENCE": "1"}
    proc = subprocess.run([sys.executable, "-c", CODE, json.dumps(config)], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"}
    return json.loads(next(l for l in proc.stdout.splitlines() if l.startswith("RESULT "))[7:])


def spearman(a: list[float], b: list[float]) -> float:
    def ranks(x):  # average ranks for ties
        order = sorted(range(len(x)), key=lambda i: x[i])
        r = [0.0] * len(x)
        k = 0
        while k < len(order):
            j = k
            while j + 1 < len(order) and x[order[j + 1]] == x[order[k]]:
                j += 1
            for i in order[k:j + 1]:
                r[i] = (k + j) / 2
            k = j + 1
        return r

    ra, rb = ranks(a), ranks(b)
    n = len(a)
    if n < 2:
        return float("nan")
    ma, mb = sum(ra) / n, sum(rb) / n
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    va = sum((x - ma) ** 2 for x in ra) ** 0.5
    vb = sum((y - mb) ** 2 for y in rb) ** 0.5
    return cov / (va * vb) if va and vb else float("nan")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--methods", nargs="+", default=DEFAULT_METHODS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--config", default="configs/main_cpu.yaml", help="shared settings (the main job's)")
    parser.add_argument("--learning-rate", type=float, default=None, help="adapters (default: the config's)")
    parser.add_argument("--full-lr-ratio", type=float, default=0.1, help="full fine-tuning lr = ratio x adapter lr")
    parser.add_argument("--eval-size", type=int, default=None)
    parser.add_argument("--max-completion-length", type=int, default=None)
    parser.add_argument("--jobs", type=int, default=1, help="runs in parallel (subprocesses)")
    parser.add_argument("--workdir", default="/tmp/rlvr_peft_study")
    parser.add_argument("--out", default="benchmarks/results/peft_study")
    args = parser.parse_args(argv)
    from rlvr_gym.agents.grpo.config import load_config_file

    base = load_config_file(args.config)
    base.setdefault("device", "cpu")     # a GPU config (device: cuda) keeps its device
    base.update(model=args.model, max_steps=args.steps, progress=False, plots=False, eval_every=0,
                save_steps=args.steps + 1, save_total_limit=1)   # no checkpoints
    if args.eval_size is not None:
        base["eval_size"] = args.eval_size
    if args.max_completion_length is not None:
        base["max_completion_length"] = args.max_completion_length
    lr = args.learning_rate or float(base.get("learning_rate", 2e-4))
    started = time.time()
    results: dict[str, list[dict]] = {m: [] for m in args.methods}
    before: dict[int, dict] = {}
    jobs = []
    for seed in args.seeds:
        for k, method in enumerate(args.methods):
            config = dict(base, peft=method, seed=seed, out=f"{args.workdir}/{method}-s{seed}",
                          learning_rate=lr * (args.full_lr_ratio if method == "full" else 1.0),
                          eval_before=k == 0)      # the base model's held-out accuracy: once per seed
            jobs.append((method, seed, config))

    def one(job):
        method, seed, config = job
        done = Path(config["out"] + ".result.json")      # finished runs are kept: a re-run resumes the study
        saved = json.loads(done.read_text()) if done.exists() else {}
        if saved.get("config") == config:
            return method, seed, saved["result"]
        subprocess.run(["rm", "-rf", config["out"]], check=True)
        t0 = time.time()
        r = run(config)
        r["wall_s"] = time.time() - t0
        r["seed"] = seed
        if "error" not in r:
            done.write_text(json.dumps({"config": config, "result": r}, default=str))
        return method, seed, r

    from concurrent.futures import ThreadPoolExecutor, as_completed

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for future in as_completed([pool.submit(one, job) for job in jobs]):
            method, seed, r = future.result()
            if "error" not in r and r.get("eval_before"):
                before[seed] = r["eval_before"]
            results[method].append(r)
            acc = r.get("eval_after", {}) or {}
            print(f"{method:9s} seed {seed}: {r.get('error') or 'held-out ' + format(acc.get('accuracy', float('nan')), '.3f')}"
                  f" ({r['wall_s']:.0f} s)", flush=True)
            report(args, base, lr, results, before, started)
    return 0


def report(args, base: dict, lr: float, results: dict, before: dict, started: float) -> None:
    """Write the table, JSON and plots for the runs finished so far."""
    from rlvr_gym.agents.training.plots import plot_curves

    # table
    rows = []
    for method, runs in results.items():
        ok = [r for r in runs if "error" not in r]
        if not ok:
            rows.append({"method": method, "error": runs[0].get("error") if runs else "not run (yet)"})
            continue
        after = [r["eval_after"]["accuracy"] for r in ok]
        gain = [r["eval_after"]["accuracy"] - before[r["seed"]]["accuracy"] for r in ok if r["seed"] in before]
        last = [statistics.mean(m["reward"] for m in r["metrics"][-3:]) for r in ok if r["metrics"]]
        trainable = next((n for n in ok[0]["notes"] if "parameters train" in n), "")
        rows.append({"method": method, "after": statistics.mean(after),
                     "after_sd": statistics.pstdev(after) if len(after) > 1 else 0.0,
                     "gain": statistics.mean(gain) if gain else float("nan"),
                     "train_reward_last3": statistics.mean(last) if last else float("nan"),
                     "trainable": trainable.split(": ", 1)[-1], "seconds": statistics.mean(r["wall_s"] for r in ok)})
    base_acc = statistics.mean(b["accuracy"] for b in before.values()) if before else float("nan")
    shared = [r for r in rows if "error" not in r and r["method"] in PAPER_1_5B]
    rho = spearman([r["after"] for r in shared], [PAPER_1_5B[r["method"]] for r in shared])
    ours_order = " > ".join(r["method"] for r in sorted(shared, key=lambda r: -r["after"]))
    paper_order = " > ".join(m for m in sorted(PAPER_1_5B, key=lambda m: -PAPER_1_5B[m]) if m in {r["method"] for r in shared})
    per_run = base.get("per_device_train_batch_size", 8) * args.steps
    lines = [
        "# PEFT methods for RLVR, in miniature",
        "",
        f"Run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {time.time() - started:.0f} s; 2-core CPU VM shared "
        f"with other jobs. Model {args.model}; env {base.get('env')} {base.get('env_kwargs') or ''}; "
        f"{args.steps} GRPO steps x {base.get('per_device_train_batch_size')} completions = {per_run} rollouts per run "
        f"({base.get('num_generations')} per prompt, max {base.get('max_completion_length')} new tokens), loss "
        f"{base.get('loss_type')}, beta 0, r={base.get('lora_r')}, adapter lr {lr:g} (full fine-tuning "
        f"{lr * args.full_lr_ratio:g}); seeds {args.seeds}; held-out: {base.get('eval_size')} problems per seed "
        f"(greedy), accuracy before training {base_acc:.3f}. Runs done: "
        f"{sum(len(v) for v in results.values())} of {len(args.methods) * len(args.seeds)}.",
        "",
        "| method | held-out acc after | sd over seeds | change vs before | train reward (last 3 steps) | trainable | s/run |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        if "error" in r:
            what = r["error"] if r["error"].startswith("not run") else f"failed: {r['error'][:80]}"
            lines.append(f"| {r['method']} | {what} | | | | | |")
        else:
            lines.append(f"| {r['method']} | {r['after']:.3f} | {r['after_sd']:.3f} | {r['gain']:+.3f} | "
                         f"{r['train_reward_last3']:.3f} | {r['trainable']} | {r['seconds']:.0f} |")
    lines += ["", f"Ordering here: {ours_order}", f"Paper (1.5B, six benchmarks): {paper_order}",
              f"Spearman rank correlation with the paper over these methods: {rho:.2f}", ""]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".md").write_text("\n".join(lines), encoding="utf-8")
    out.with_suffix(".json").write_text(json.dumps({"args": vars(args), "base_config": base, "before": before,
                                                    "rows": rows, "runs": results}, indent=2, default=str))
    curves = {}
    for method, runs in results.items():
        ok = [r for r in runs if "error" not in r and r.get("metrics")]
        if ok:
            n = min(len(r["metrics"]) for r in ok)
            curves[method] = ([ok[0]["metrics"][i]["step"] for i in range(n)],
                              [statistics.mean(r["metrics"][i]["reward"] for r in ok) for i in range(n)])
    if curves:
        plot_curves(curves, str(out) + "_reward.png", title=f"training reward ({args.model})", ylabel="reward",
                    smooth=3)
        held = {r["method"]: ([0, args.steps], [base_acc, r["after"]]) for r in rows if "error" not in r}
        plot_curves(held, str(out) + "_heldout.png", title="held-out accuracy before/after", ylabel="accuracy")
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(main())
