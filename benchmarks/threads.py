"""Torch CPU threads and batch size for GRPO training on this machine: `train()` runs of a few steps in fresh
subprocesses, one per setting, reporting the median TRL step_time (first step excluded) and tokens/s.

    python benchmarks/threads.py --model tiny-random --threads 1 2 --batch-sizes 4 8 --steps 5

The CPU default (agents/grpo/config.py CPU_THREADS) is chosen from these numbers; results go to
benchmarks/results/train_threads.md (and .json).
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

CODE = r"""
import json, sys, torch
from rlvr_gym.agents.grpo import TrainConfig, train
cfg = TrainConfig(**json.loads(sys.argv[1]))
result = train(cfg)
print("RESULT " + json.dumps({"rows": result.metrics, "threads": torch.get_num_threads()}))
"""


def measure(config: dict) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(config["threads"]), "TRL_EXPERIMENTAL_SILENCE": "1"}
    proc = subprocess.run([sys.executable, "-c", CODE, json.dumps(config)], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    payload = json.loads(next(l for l in proc.stdout.splitlines() if l.startswith("RESULT "))[7:])
    rows = payload["rows"][1:] or payload["rows"]
    step = statistics.median(r["step_time"] for r in rows)
    tokens = [r["num_tokens"] for r in payload["rows"]]
    per_step_tokens = (tokens[-1] - tokens[0]) / max(1, len(tokens) - 1) if len(tokens) > 1 else tokens[0]
    return {"step_time_s": step, "tokens_per_s": per_step_tokens / step, "torch_threads": payload["threads"]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny-random")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[4, 8])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--max-completion-length", type=int, default=32)
    parser.add_argument("--workdir", default="/tmp/rlvr_threads")
    parser.add_argument("--out", default="benchmarks/results/train_threads.md")
    args = parser.parse_args(argv)
    import shutil

    shutil.rmtree(args.workdir, ignore_errors=True)
    results = []
    for batch in args.batch_sizes:
        for threads in args.threads:
            config = dict(env=["Math-Easy-v0"], model=args.model, peft="lora", train_size=32, eval_size=0,
                          max_steps=args.steps, per_device_train_batch_size=batch, num_generations=4,
                          max_completion_length=args.max_completion_length, save_steps=1000, threads=threads,
                          progress=False, plots=False, device="cpu", out=f"{args.workdir}/b{batch}-t{threads}")
            load = os.getloadavg()[0]
            r = measure(config)
            r.update(batch=batch, threads=threads, load_before=load, load_after=os.getloadavg()[0])
            results.append(r)
            print(json.dumps(r), flush=True)
    lines = ["# GRPO training: torch threads and batch size (CPU)", "",
             f"Run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; 2-core VM shared with other jobs; model "
             f"{args.model}, LoRA r=16, Math-Easy-v0, 4 completions per prompt, max {args.max_completion_length} new "
             f"tokens, {args.steps} steps per setting (median step time, first step excluded).", "",
             "| completions/step | threads | step time s | tokens/s | load avg before/after |",
             "| --- | --- | --- | --- | --- |"]
    for r in results:
        lines.append(f"| {r['batch']} | {r['threads']} | {r['step_time_s']:.2f} | {r['tokens_per_s']:.0f} | "
                     f"{r['load_before']:.1f} / {r['load_after']:.1f} |")
    Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    Path(args.out).with_suffix(".json").write_text(json.dumps(results, indent=2))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
