"""What does each Temporal Clue preset produce? Clues, prompt length, questions, generation and oracle time,
and what proving uniqueness over the asked questions only (unique_over="questions") changes.

    python benchmarks/calibration_temporal_clue.py --n 20 --seed 0

Oracle time = building a fresh WorldModel for the puzzle's setting and solving its kept clues (what the
oracle agent does). Proof effort = CP-SAT branches and conflicts (one worker, presolve off, as the
generator runs it) to prove every asked answer forced by the clues, summed over the questions: a measure
of how much search the clues leave to a solver. Each puzzle is generated twice from the same seed, with
unique_over "world" (the default) and "questions"; both have the same questions.
Writes benchmarks/results/calibration_temporal_clue.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generation_speed import _command_args, percentile, pin_to_one_core  # noqa: E402
from machine import load_average, machine_info  # noqa: E402


def summarise(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "p90": percentile(values, 90)}


def proof_effort(puzzle) -> int:
    """CP-SAT branches + conflicts to prove every asked answer forced by the clues (fresh model)."""
    from rlvr_gym.envs.temporal_clue.model import WorldModel
    from rlvr_gym.envs.temporal_clue.questions import answer_statement

    model = WorldModel(puzzle.setting)
    lits = [model.literal(c) for c in puzzle.clues]
    effort = 0
    for q in puzzle.questions:
        status, solver = model.run(lits + [~model.literal(answer_statement(q, puzzle.setting))])
        assert solver.status_name(status) == "INFEASIBLE", (puzzle.id, q.text)
        effort += solver.num_branches + solver.num_conflicts
    return effort


def run(presets: list[str], n: int, seed: int) -> dict:
    from dataclasses import replace

    from rlvr_gym.envs.temporal_clue.config import PRESETS
    from rlvr_gym.envs.temporal_clue.generator import generate_puzzle, puzzle_seed
    from rlvr_gym.envs.temporal_clue.model import WorldModel

    rows = []
    for name in presets:
        cfg = PRESETS[name]
        gen, oracle, clues, chars, questions, suspects, rooms, times = [], [], [], [], [], [], [], []
        effort, q_clues, q_chars, q_gen, q_oracle, q_effort = [], [], [], [], [], []
        types: Counter = Counter()
        for i in range(n):
            t0 = time.perf_counter()
            p = generate_puzzle(cfg, puzzle_seed(seed, i))
            gen.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            solved = WorldModel(p.setting).solve(p.clues)
            oracle.append(time.perf_counter() - t0)
            assert solved == p.world, p.id
            clues.append(len(p.clues)); chars.append(len(p.prompt)); questions.append(len(p.questions))
            suspects.append(len(p.setting.suspects)); rooms.append(len(p.setting.rooms))
            times.append(len(p.setting.times))
            types.update(type(c).__name__ for c in p.clues)
            effort.append(proof_effort(p))
            # the same puzzle with uniqueness proven over the asked questions only
            t0 = time.perf_counter()
            pq = generate_puzzle(replace(cfg, unique_over="questions"), puzzle_seed(seed, i))
            q_gen.append(time.perf_counter() - t0)
            assert [q.text for q in pq.questions] == [q.text for q in p.questions], p.id
            t0 = time.perf_counter()
            WorldModel(pq.setting).solve(pq.clues)
            q_oracle.append(time.perf_counter() - t0)
            q_clues.append(len(pq.clues)); q_chars.append(len(pq.prompt)); q_effort.append(proof_effort(pq))
            print(f"{name} item={i} gen={gen[-1]:.3f}s clues={clues[-1]} (questions-only {q_clues[-1]}) "
                  f"chars={chars[-1]} effort={effort[-1]} ({q_effort[-1]})", file=sys.stderr)
        total = sum(types.values())
        rows.append({
            "preset": name, "players": cfg.players, "n": n, "clues": summarise(clues),
            "prompt_chars": summarise(chars), "questions": summarise(questions),
            "generation_s": summarise(gen), "oracle_solve_s": summarise(oracle),
            "suspects": summarise(suspects), "rooms": summarise(rooms), "times": summarise(times),
            "clue_types": {k: round(v / total, 3) for k, v in sorted(types.items())},
            "proof_effort": summarise(effort),
            "questions_only": {"clues": summarise(q_clues), "prompt_chars": summarise(q_chars),
                               "generation_s": summarise(q_gen), "oracle_solve_s": summarise(q_oracle),
                               "proof_effort": summarise(q_effort),
                               "clue_ratio": round(sum(q_clues) / max(1, sum(clues)), 3),
                               "fewer_clues_share": round(sum(a < b for a, b in zip(q_clues, clues)) / n, 3)},
        })
    return {"rows": rows}


def to_markdown(result: dict) -> str:
    m = result["machine"]
    fmt = lambda s, f="{:g}": f"{f.format(s['median'])} ({f.format(s['min'])}-{f.format(s['max'])})"  # noqa: E731
    lines = [
        "# Temporal Clue presets: calibration", "",
        f"Command: `{result['command']}`", "",
        f"Machine: {m['cpu']}, {m['cores']} cores visible, Python {m['python']}, OR-Tools {m['ortools']}, "
        f"{m['date']}; {result['pinning']}; load average before/after: {result['load_before']} / "
        f"{result['load_after']}.", "",
        "Median (min-max) per puzzle.", "",
        "| preset | players | n | suspects | rooms | times | clues | prompt chars | questions | generation s "
        "| oracle solve s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['preset']} | {r['players']} | {r['n']} | {fmt(r['suspects'])} | {fmt(r['rooms'])} | "
            f"{fmt(r['times'])} | {fmt(r['clues'])} | {fmt(r['prompt_chars'], '{:.0f}')} | "
            f"{fmt(r['questions'])} | {fmt(r['generation_s'], '{:.3f}')} | {fmt(r['oracle_solve_s'], '{:.3f}')} |")
    lines += ["", "Uniqueness over the asked questions only (`unique_over=\"questions\"`, same seeds, same "
              "questions; proof effort = CP-SAT branches + conflicts to prove every answer):", "",
              "| preset | clues: world -> questions | kept clues overall | puzzles with fewer clues | prompt chars "
              "| generation s | oracle solve s | proof effort |",
              "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in result["rows"]:
        q = r["questions_only"]
        lines.append(
            f"| {r['preset']} | {fmt(r['clues'])} -> {fmt(q['clues'])} | {q['clue_ratio']:.0%} | "
            f"{q['fewer_clues_share']:.0%} | {fmt(r['prompt_chars'], '{:.0f}')} -> {fmt(q['prompt_chars'], '{:.0f}')} | "
            f"{fmt(r['generation_s'], '{:.3f}')} -> {fmt(q['generation_s'], '{:.3f}')} | "
            f"{fmt(r['oracle_solve_s'], '{:.3f}')} -> {fmt(q['oracle_solve_s'], '{:.3f}')} | "
            f"{fmt(r['proof_effort'])} -> {fmt(q['proof_effort'])} |")
    lines += ["", "Kept clue types (share of all kept clues):", ""]
    for r in result["rows"]:
        mix = ", ".join(f"{k} {v:.0%}" for k, v in sorted(r["clue_types"].items(), key=lambda kv: -kv[1]))
        lines.append(f"- {r['preset']}: {mix}")
    lines += ["", "Released original dataset for comparison (val+test, ../shared/spec): 3-100 clues "
              "(median 25), 4-8 questions, prompts 1.3k-10.6k characters (median 3.8k); "
              "benchmarks/results/temporal_clue_fidelity.md compares the two in full."]
    if result.get("note"):
        lines += ["", result["note"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["tiny", "easy", "medium", "hard", "expert"])
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    parser.add_argument("--note", default="")
    args = parser.parse_args(argv)
    pinning = pin_to_one_core()
    load_before = load_average()
    result = run(args.presets, args.n, args.seed)
    result.update(machine=machine_info(["ortools"]), pinning=pinning, load_before=load_before,
                  load_after=load_average(), note=args.note,
                  command="python benchmarks/calibration_temporal_clue.py "
                          + _command_args(argv))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "calibration_temporal_clue.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "calibration_temporal_clue.md").write_text(to_markdown(result))
    print(to_markdown(result))
    return result


if __name__ == "__main__":
    main()
