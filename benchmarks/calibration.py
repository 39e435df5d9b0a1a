"""Difficulty calibration: solve rate per difficulty level for reference agents.

Agents: the gold answer / the CP-SAT oracle (the ceiling: 100% unless the verifier or the env is wrong),
the embedded SmolLM2-135M-Instruct (``hf:smollm2-135m``, greedy, default 256 new tokens) and a seeded random
agent (the floor). Every run goes through the real ``rlvr eval`` command (in this process), so the numbers
are what a user gets from the CLI:

- Math-v0 (procedural levels 1-10, drawn by the env): ``rlvr eval Math-v0 --agent AGENT -n N``; the model run is
  exactly the issue's check ``rlvr eval Math-v0 --agent hf:smollm2-135m -n 50``.
- Temporal Clue presets easy/medium/hard/expert: puzzles generated once per preset with ``rlvr generate``
  (seed 0), then every agent plays the same file (``--puzzles``); the model plays the first few only.

    python benchmarks/calibration.py                # full run (~40 min on the 2-core VM, mostly the model)
    python benchmarks/calibration.py --quick        # small n, for checking the script
    python benchmarks/calibration.py --no-model     # ceiling and floor only
    python benchmarks/calibration.py --temporal-clue-only   # re-run the Temporal Clue rows, keep the Math
                                                            # table of the committed calibration.json

Writes benchmarks/results/calibration.{md,json} and per-run outputs under benchmarks/results/calibration_runs/.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_info  # noqa: E402

from rlvr_gym.agents.base import Agent

HERE = Path(__file__).resolve().parent
PRESETS = ("tiny", "easy", "medium", "hard", "expert")
MODEL = "hf:smollm2-135m"


class GoldAnswerAgent(Agent):
    """Replies with the env's gold answer (reset info "answer") in \\boxed{}: the Math ceiling. Used as
    ``python:calibration:GoldAnswerAgent`` (this file's folder is on sys.path when it runs as a script)."""

    name = "gold-answer"

    def act_batch(self, observations: Sequence[str], infos: Sequence[dict] | None = None) -> list[str]:
        infos = infos or [{} for _ in observations]
        return [f"The final answer is \\boxed{{{info.get('answer', '')}}}" for info in infos]


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a solve rate."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def rlvr(argv: list[str]) -> None:
    from rlvr_gym.cli.main import main

    code = main(argv)
    if code != 0:
        raise RuntimeError(f"rlvr {' '.join(argv)} exited with {code}")


def eval_run(env_id: str, agent: str, n: int, out: Path, label: str, extra: list[str] = ()) -> dict:
    argv = ["eval", env_id, "--agent", agent, "-n", str(n), "--seed", "0", "--out", str(out), *extra]
    command = "rlvr " + " ".join(a if " " not in a else repr(a) for a in argv)
    print(f"\n$ {command}", flush=True)
    started = time.perf_counter()
    rlvr(argv)
    summary = json.loads((out / "summary.json").read_text())
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines() if line.strip()]
    return {"env_id": env_id, "agent": agent, "label": label, "command": command, "episodes": len(rows),
            "wall_seconds": round(time.perf_counter() - started, 1), "summary": summary, "rows": rows}


def by_level(run: dict) -> dict[str, dict]:
    """difficulty -> n, solved, rate, 95% CI, mean reward (solved = reward 1 / correct)."""
    groups: dict[str, list[dict]] = {}
    for row in run["rows"]:
        groups.setdefault(str(row.get("difficulty")), []).append(row)
    table = {}
    for level, rows in groups.items():
        solved = sum(1 for r in rows if float(r.get("reward") or 0) >= 1.0)
        lo, hi = wilson(solved, len(rows))
        table[level] = {"n": len(rows), "solved": solved, "rate": solved / len(rows), "ci95": [round(lo, 3), round(hi, 3)],
                        "mean_reward": sum(float(r.get("reward") or 0) for r in rows) / len(rows),
                        "format_ok": sum(1 for r in rows if r.get("format_ok")) / len(rows)}
    return table


def level_key(name: str):
    if name.startswith("level-") and name[6:].isdigit():
        return (0, int(name[6:]), "")
    return (1, PRESETS.index(name) if name in PRESETS else 99, name)


def machine() -> dict:
    import torch

    info = machine_info(["torch", "transformers"])
    info.update(cpu_count=info["cores"], torch_threads=torch.get_num_threads(),
                cuda=torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
                load_average_at_end=info["load_average"])
    return info


def render_markdown(results: dict) -> str:
    lines = ["# Difficulty calibration", "",
             f"Run {results['finished']} on: {results['machine']['platform']}, {results['machine']['cpu_count']} CPU cores, "
             f"torch {results['machine']['torch']} ({results['machine']['torch_threads']} thread), "
             f"GPU: {results['machine']['cuda'] or 'none'}; load average at the end "
             f"{results['machine'].get('load_average_at_end')} (the machine was shared with other jobs, so "
             "seconds are pessimistic). Generated by `python benchmarks/calibration.py"
             f"{' ' + ' '.join(results['argv']) if results['argv'] else ''}`.", "",
             "Solved = reward 1 (every question right for Temporal Clue; a verified final answer for Math). "
             "Cells: solved/n = rate [95% Wilson interval], mean reward (Temporal Clue: the fraction of questions "
             "answered right). The model is greedy with the default 256 new tokens.", ""]
    for env_group, runs in results["tables"].items():
        lines += [f"## {env_group}", ""]
        agents = [r["label"] for r in runs]
        levels = sorted({lvl for r in runs for lvl in r["by_level"]}, key=level_key)
        lines.append("| difficulty | " + " | ".join(agents) + " |")
        lines.append("| --- | " + " | ".join("---" for _ in agents) + " |")
        for level in levels:
            cells = []
            for r in runs:
                c = r["by_level"].get(level)
                cells.append("-" if c is None else f"{c['solved']}/{c['n']} = {c['rate']:.0%} [{c['ci95'][0]:.0%}, "
                             f"{c['ci95'][1]:.0%}], reward {c['mean_reward']:.2f}")
            lines.append(f"| {level} | " + " | ".join(cells) + " |")
        total = []
        for r in runs:
            s = r["summary"]
            total.append(f"{s['solved_fraction']:.0%} of {s['episodes']} (mean reward {s['mean_reward']:.3f})")
        lines.append("| **all** | " + " | ".join(total) + " |")
        lines += ["", "Commands and cost:", ""]
        for r in runs:
            s = r["summary"]
            tok = ""
            if s.get("mean_completion_tokens") is not None:
                tok = f", mean tokens prompt {s.get('mean_prompt_tokens', 0):.0f} / completion {s['mean_completion_tokens']:.0f}"
            lines.append(f"- {r['label']}: {r['wall_seconds']} s{tok}")
            lines += [f"  - `{c}`" for c in r["command"].split("; ")]
        lines.append("")
    lines += ["## Findings", ""] + [f"- {f}" for f in results["findings"]] + [""]
    return "\n".join(lines)


def findings(tables: dict) -> list[str]:
    out = []
    for group, runs in tables.items():
        for r in runs:
            s = r["summary"]
            out.append(f"{group} / {r['label']}: solved {s['solved_fraction']:.1%} of {s['episodes']}, "
                       f"format ok {s.get('format_ok_fraction', 0):.0%}.")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small n everywhere (checks the script)")
    parser.add_argument("--no-model", action="store_true", help="skip the SmolLM2 runs")
    parser.add_argument("--out", default=str(HERE / "results"), help="results directory")
    parser.add_argument("--temporal-clue-only", action="store_true",
                        help="re-run the Temporal Clue presets only; the Math table comes from OUT/calibration.json")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything here is offline
    import torch

    torch.set_num_threads(1)
    out = Path(args.out)
    runs_dir = out / "calibration_runs"
    q = args.quick
    n_math = {"gold": 20 if q else 200, "random": 20 if q else 200, "model": 4 if q else 50}
    n_tc = {"puzzles": 2 if q else 10, "model": 1 if q else 4}

    tables: dict[str, list[dict]] = {"Math-v0 (procedural levels)": [], "Temporal Clue presets": []}
    math_runs = tables["Math-v0 (procedural levels)"]
    kept_math = None
    if args.temporal_clue_only:
        previous = json.loads((out / "calibration.json").read_text())
        kept_math = {"finished": previous["finished"], "runs": previous["tables"]["Math-v0 (procedural levels)"]}
    else:
        math_runs.append(eval_run("Math-v0", "python:calibration:GoldAnswerAgent", n_math["gold"], runs_dir / "math-gold", "gold answer"))
        if not args.no_model:
            math_runs.append(eval_run("Math-v0", MODEL, n_math["model"], runs_dir / "math-smollm2", "smollm2-135m"))
        math_runs.append(eval_run("Math-v0", "random", n_math["random"], runs_dir / "math-random", "random"))

    # Temporal Clue: one puzzle file per preset, every agent plays the same puzzles.
    tc_by_agent: dict[str, list[dict]] = {"oracle": [], "smollm2-135m": [], "random": []}
    for preset in PRESETS:
        puzzles = runs_dir / f"tc-{preset}-puzzles.jsonl"
        started = time.perf_counter()
        if preset == "tiny":  # no registered id or `rlvr generate --difficulty` for it: the same through the API
            from rlvr_gym.envs.temporal_clue.config import resolve_config
            from rlvr_gym.envs.temporal_clue.generator import generate_puzzles

            puzzles.parent.mkdir(parents=True, exist_ok=True)
            puzzles.write_text("".join(p.to_json() + "\n" for p in generate_puzzles(resolve_config(preset),
                                                                                      n_tc["puzzles"], seed=0)))
            env = "TemporalClue-v0"
        else:
            rlvr(["generate", "temporal-clue", "-n", str(n_tc["puzzles"]), "--difficulty", preset, "--seed", "0",
                  "--workers", "1", "--out", str(puzzles)])
            env = f"TemporalClue-{preset.capitalize()}-v0"
        print(f"generated {n_tc['puzzles']} {preset} puzzles in {time.perf_counter() - started:.1f} s", flush=True)
        extra = ["--puzzles", str(puzzles)]
        tc_by_agent["oracle"].append(eval_run(env, "oracle", n_tc["puzzles"], runs_dir / f"tc-{preset}-oracle", "oracle", extra))
        if not args.no_model:
            tc_by_agent["smollm2-135m"].append(
                eval_run(env, MODEL, n_tc["model"], runs_dir / f"tc-{preset}-smollm2", "smollm2-135m", extra))
        tc_by_agent["random"].append(eval_run(env, "random", n_tc["puzzles"], runs_dir / f"tc-{preset}-random", "random", extra))
    for label, runs in tc_by_agent.items():
        if not runs:
            continue
        merged = {"label": label, "rows": [row for r in runs for row in r["rows"]],
                  "command": "; ".join(r["command"] for r in runs),
                  "wall_seconds": round(sum(r["wall_seconds"] for r in runs), 1)}
        rows = merged["rows"]
        merged["summary"] = {
            "episodes": len(rows),
            "solved_fraction": sum(1 for r in rows if float(r.get("reward") or 0) >= 1) / len(rows),
            "mean_reward": sum(float(r.get("reward") or 0) for r in rows) / len(rows),
            "format_ok_fraction": sum(1 for r in rows if r.get("format_ok")) / len(rows),
        }
        comp = [r["completion_tokens"] for r in rows if r.get("completion_tokens") is not None]
        if comp:
            merged["summary"]["mean_completion_tokens"] = sum(comp) / len(comp)
            merged["summary"]["mean_prompt_tokens"] = sum(r["prompt_tokens"] for r in rows) / len(rows)
        tables["Temporal Clue presets"].append(merged)

    for runs in tables.values():
        for r in runs:
            r["by_level"] = by_level(r)
    if kept_math is not None:
        tables["Math-v0 (procedural levels)"] = [dict(r, rows=[]) for r in kept_math["runs"]]
    results = {
        "finished": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "argv": list(argv if argv is not None else sys.argv[1:]),
        "machine": machine(),
        "tables": {g: [{k: v for k, v in r.items() if k != "rows"} for r in runs] for g, runs in tables.items()},
    }
    results["findings"] = findings(tables)
    if kept_math is not None:
        results["math_from"] = kept_math["finished"]
        results["findings"].append(f"The Math table is the run of {kept_math['finished']}, kept as it was; only the "
                                   "Temporal Clue rows were re-run (--temporal-clue-only).")
    out.mkdir(parents=True, exist_ok=True)
    (out / "calibration.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "calibration.md").write_text(render_markdown(results))
    print(f"\nwrote {out / 'calibration.md'} and {out / 'calibration.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
