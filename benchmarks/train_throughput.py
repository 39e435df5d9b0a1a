"""Throughput of `rlvr train` (agents/grpo/) against a plain TRL GRPOTrainer script on the same model, data,
reward and GRPOConfig, side by side in one run: runs alternate (ours, plain, ours, plain, ...) in fresh
subprocesses so that both see the same machine load; we report train_runtime (TRL's own clock around the
training loop), steps/s and tokens/s (prompt + completion tokens seen), median over repetitions.

    python benchmarks/train_throughput.py --model tiny-random --steps 8 --reps 3 --out benchmarks/results/train_throughput.md

Ours runs with its defaults for a user (metrics.jsonl, completions parquet, checkpoints at the end, the rich
progress display) but no held-out evaluation (that is outside the training loop in both cases).
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

OURS = r"""
import json, sys, torch
from rlvr_gym.agents.grpo import TrainConfig, train
cfg = TrainConfig(**json.loads(sys.argv[1]))
torch.set_num_threads(cfg.threads or 1)
result = train(cfg)
tokens = result.metrics[-1].get("num_tokens") if result.metrics else None
print("RESULT " + json.dumps({"train_runtime": result.train_summary.get("train_runtime"), "steps": result.steps,
                              "tokens": tokens}))
"""

PLAIN = r"""
import json, sys, torch
from rlvr_gym.agents.grpo import TrainConfig
from rlvr_gym.agents.grpo.config import make_grpo_config
from rlvr_gym.agents.grpo.data import build_dataset
from rlvr_gym.agents.lm.models import resolve_model
from rlvr_gym.verifiers.math import reward_function
from transformers import AutoModelForCausalLM, AutoTokenizer
from peft import LoraConfig
from trl import GRPOTrainer
cfg = TrainConfig(**json.loads(sys.argv[1])).validate()
torch.set_num_threads(cfg.threads or 1)
path = resolve_model(cfg.model)
tok = AutoTokenizer.from_pretrained(path)
model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
data = build_dataset(cfg.env, cfg.train_size, cfg.seed).select_columns(["prompt", "answer"])
args = make_grpo_config(cfg)        # the very same GRPOConfig values
peft = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha or 2 * cfg.lora_r, lora_dropout=cfg.lora_dropout,
                  target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
                  task_type="CAUSAL_LM")
trainer = GRPOTrainer(model=model, reward_funcs=[reward_function], args=args, train_dataset=data,
                      processing_class=tok, peft_config=peft)
out = trainer.train()
print("RESULT " + json.dumps({"train_runtime": out.metrics["train_runtime"], "steps": trainer.state.global_step,
                              "tokens": trainer.state.num_input_tokens_seen}))
"""


def run_one(kind: str, config: dict, workdir: Path, rep: int) -> dict:
    out = workdir / f"{kind}-{rep}"
    cfg = dict(config, out=str(out), progress=kind == "ours")
    code = OURS if kind == "ours" else PLAIN
    env = {**os.environ, "OMP_NUM_THREADS": str(config.get("threads") or 1), "TRL_EXPERIMENTAL_SILENCE": "1"}
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, json.dumps(cfg)], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} run failed:\n{proc.stderr[-3000:]}")
    line = next(l for l in proc.stdout.splitlines() if l.startswith("RESULT "))
    result = json.loads(line[len("RESULT "):])
    result["wall_s"] = time.perf_counter() - started
    result["steps_per_s"] = result["steps"] / result["train_runtime"]
    result["tokens_per_s"] = (result["tokens"] or 0) / result["train_runtime"]
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny-random")
    parser.add_argument("--env", default="Math-Easy-v0")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--num-generations", type=int, default=4)
    parser.add_argument("--max-completion-length", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--workdir", default="/tmp/rlvr_train_throughput")
    parser.add_argument("--out", default="benchmarks/results/train_throughput.md")
    args = parser.parse_args(argv)
    import shutil

    workdir = Path(args.workdir)
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    config = dict(env=[args.env], model=args.model, peft="lora", lora_r=16, train_size=64, eval_size=0,
                  max_steps=args.steps, per_device_train_batch_size=args.batch_size,
                  num_generations=args.num_generations, max_completion_length=args.max_completion_length,
                  save_steps=args.steps, threads=args.threads, plots=False, device="cpu")
    results: dict[str, list[dict]] = {"ours": [], "plain": []}
    for rep in range(args.reps):
        for kind in ("ours", "plain") if rep % 2 == 0 else ("plain", "ours"):
            r = run_one(kind, config, workdir, rep)
            results[kind].append(r)
            print(f"rep {rep} {kind:5s} runtime {r['train_runtime']:.1f}s  steps/s {r['steps_per_s']:.3f}  "
                  f"tokens/s {r['tokens_per_s']:.0f}", flush=True)
    med = {k: {m: statistics.median(r[m] for r in v) for m in ("train_runtime", "steps_per_s", "tokens_per_s")}
           for k, v in results.items()}
    overhead_medians = med["ours"]["train_runtime"] / med["plain"]["train_runtime"] - 1
    # The load of a shared machine drifts between runs: the runs of one repetition are adjacent in time, so the
    # per-repetition ratio ours/plain is the fairer estimate; report its median.
    paired = [o["train_runtime"] / p["train_runtime"] for o, p in zip(results["ours"], results["plain"])]
    overhead = statistics.median(paired) - 1
    load = os.getloadavg()
    lines = [
        "# `rlvr train` vs plain TRL GRPOTrainer: throughput",
        "",
        f"Run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; machine: 2-core CPU VM shared with other jobs "
        f"(load average at the end {load[0]:.1f}); model {args.model}, env {args.env}, LoRA r=16, {args.steps} steps, "
        f"{args.batch_size} completions/step ({args.num_generations} per prompt), max {args.max_completion_length} new "
        f"tokens, {args.threads} torch thread(s). Same GRPOConfig (agents/grpo/config.py make_grpo_config) and dataset rows "
        "in both; plain TRL grades with verifiers.math.reward_function, ours with EnvReward. Alternating fresh "
        f"subprocesses, {args.reps} repetitions each.",
        "",
        "| run | train_runtime s (median) | steps/s | tokens/s | all runtimes s |",
        "| --- | --- | --- | --- | --- |",
    ]
    for kind in ("ours", "plain"):
        m = med[kind]
        all_rt = ", ".join(f"{r['train_runtime']:.1f}" for r in results[kind])
        lines.append(f"| {'rlvr train' if kind == 'ours' else 'plain TRL'} | {m['train_runtime']:.1f} | "
                     f"{m['steps_per_s']:.3f} | {m['tokens_per_s']:.0f} | {all_rt} |")
    lines += ["", "Per-repetition runtime ratio ours/plain (adjacent runs): "
              + ", ".join(f"{r:.3f}" for r in paired),
              f"Overhead of `rlvr train`: {overhead:+.1%} (median of the paired ratios; ratio of the medians "
              f"{overhead_medians:+.1%}); target at most +5%.", ""]
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    (Path(args.out).with_suffix(".json")).write_text(json.dumps({"config": config, "results": results,
                                                                 "median": med, "paired_ratios": paired,
                                                                 "overhead": overhead}, indent=2))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
