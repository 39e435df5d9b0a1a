"""Gradings per second of the math verifier at a base git revision and in the working tree, interleaved in one process.

On a shared 2-core machine single runs of benchmarks/verifier_math.py (0.01-0.4 s a workload) move by 2-3x with the
load; interleaving the two versions rep by rep and reporting best and median makes the comparison fair. Workloads:
GSM8K test solutions and MATH-500 solutions graded against their gold answers (../shared/data/math), and 3000
procedural worked solutions. The base revision's verifiers/math.py is loaded as a module of its own (it must need
nothing the working tree lacks).

Run: python benchmarks/verifier_math_ab.py --base REV [--reps 7] [--data DIR]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_info, machine_line  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def load_base(rev: str):
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:verifiers/math.py"], check=True,
                            capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "base_math.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("base_math", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["base_math"] = module
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True, help="git revision of the base verifier")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "math"))
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from rlvr_gym.envs.math.procedural import generate_problems
    from rlvr_gym.verifiers import math as current

    base = load_base(args.base)
    data = Path(args.data)
    workloads = {}
    if (data / "gsm8k" / "test.jsonl").is_file():
        recs = [json.loads(line) for line in (data / "gsm8k" / "test.jsonl").open()]
        workloads["gsm8k-gold"] = [(r["answer"], r["answer"].split("####")[-1].strip()) for r in recs]
    if (data / "math500" / "test.jsonl").is_file():
        recs = [json.loads(line) for line in (data / "math500" / "test.jsonl").open()]
        workloads["math500-gold"] = [(r["solution"], r["answer"]) for r in recs]
    workloads["procedural-gold"] = [(p.solution, p.answer) for p in generate_problems(3000, seed=0)]
    info = machine_info(["math-verify"])
    rates: dict = {}
    correct: dict = {}
    for _ in range(args.reps):
        for name, module in (("base", base), ("current", current)):
            for wl, pairs in workloads.items():
                t = time.perf_counter()
                ok = sum(module.grade(resp, gold, timeout=5).correct for resp, gold in pairs)
                rates.setdefault((name, wl), []).append(len(pairs) / (time.perf_counter() - t))
                correct[(name, wl)] = ok
    print(f"Machine: {machine_line(info)} (load at the start); {info['date']}. Base {args.base}, {args.reps} interleaved reps.")
    print("\n| workload | n | base correct | current correct | base best/s | current best/s | base median/s | current median/s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for wl, pairs in workloads.items():
        b, c = sorted(rates[("base", wl)]), sorted(rates[("current", wl)])
        print(f"| {wl} | {len(pairs)} | {correct[('base', wl)]} | {correct[('current', wl)]} | {b[-1]:.0f} | {c[-1]:.0f} | "
              f"{b[len(b) // 2]:.0f} | {c[len(c) // 2]:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
