"""Which Temporal Clue size gives the embedded SmolLM2-135M a learning signal? Random admissible answers
and the base model's reward on small presets, with the format rate, accuracy on parsed answer sheets and
the reward spread inside groups of samples (GRPO learns nothing from a group whose rewards are all equal).

    python benchmarks/temporal_clue_small_calibration.py --presets tiny easy
    python benchmarks/temporal_clue_small_calibration.py --presets tiny --quick     # checks the script

Per preset, through the real `rlvr eval` command (in this process):
- random: `rlvr eval TemporalClue-v0 --env-kwargs '{"preset": P}' --agent random -n N_RANDOM`;
- base model, greedy: `... --agent hf:smollm2-135m --agent-kwargs '{"max_tokens": M}' -n N_MODEL`;
and with the Python API, groups: G puzzles x K samples at temperature 1.0 (TRL's GRPO default), each
graded by the env. Reported: format rate (every lettered line parsed), mean reward, solved rate,
accuracy on parsed sheets next to the random-admissible expectation on the same puzzles (mean of
1 / candidates per question; the deduction gain is the difference), and the share of groups whose
rewards are not all equal, with the mean within-group standard deviation.

Writes benchmarks/results/temporal_clue_small_calibration.{md,json}; runs under .../calibration_runs/.
The model runs on CPU with one torch thread; the load average is written next to every time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import load_average, machine_info  # noqa: E402

HERE = Path(__file__).resolve().parent
MODEL = "hf:smollm2-135m"


def rlvr(argv: list[str]) -> None:
    from rlvr_gym.cli.main import main

    code = main(argv)
    if code != 0:
        raise RuntimeError(f"rlvr {' '.join(argv)} exited with {code}")


def random_expectation(prompt: str) -> float:
    """Expected fraction right for uniformly random admissible answers (candidates read from the prompt)."""
    from rlvr_gym.agents.random_agent import prompt_candidates

    cands = prompt_candidates(prompt)
    return statistics.fmean(1 / len(c) for c in cands.values()) if cands else 0.0


NAMED = ("ok", "wrong", "extra text")  # verifier reasons of a line that names exactly one admissible answer


def summarise_rows(rows: list[dict]) -> dict:
    from rlvr_gym.agents.random_agent import prompt_candidates

    n = len(rows)
    parsed = [r for r in rows if r.get("format_ok")]
    named, named_random = [], []  # lines naming one admissible answer: right?, and 1 / candidates
    for r in rows:
        cands = prompt_candidates(r["prompt"])
        for letter, reason in (r.get("reasons") or {}).items():
            if reason in NAMED:
                named.append(reason == "ok")
                named_random.append(1 / len(cands[letter]))
    lines = sum(len(r.get("reasons") or {}) for r in rows)
    admissible_sheets = sum(all(v in NAMED for v in (r.get("reasons") or {"?": "missing"}).values()) for r in rows)
    return {
        "named_line_rate": len(named) / lines if lines else 0.0,
        "admissible_sheet_rate": admissible_sheets / n if n else 0.0,
        "named_lines": len(named),
        "named_accuracy": statistics.fmean(named) if named else None,
        "named_random_expectation": statistics.fmean(named_random) if named else None,
        "episodes": n,
        "mean_reward": statistics.fmean(r["reward"] for r in rows) if n else 0.0,
        "solved": sum(r["reward"] >= 1 - 1e-9 for r in rows) / n if n else 0.0,
        "format_rate": len(parsed) / n if n else 0.0,
        "parsed_accuracy": statistics.fmean(r["reward"] for r in parsed) if parsed else None,
        "parsed_random_expectation": statistics.fmean(random_expectation(r["prompt"]) for r in parsed) if parsed else None,
        "random_expectation": statistics.fmean(random_expectation(r["prompt"]) for r in rows) if n else 0.0,
        "questions_mean": statistics.fmean(len(r.get("correct") or {}) for r in rows) if n else 0.0,
        "reward_std": statistics.pstdev([r["reward"] for r in rows]) if n > 1 else 0.0,
        "mean_prompt_tokens": statistics.fmean(r["prompt_tokens"] for r in rows if r.get("prompt_tokens"))
        if any(r.get("prompt_tokens") for r in rows) else None,
        "mean_completion_tokens": statistics.fmean(r["completion_tokens"] for r in rows if r.get("completion_tokens"))
        if any(r.get("completion_tokens") for r in rows) else None,
    }


def eval_run(preset: str, agent: str, n: int, out: Path, agent_kwargs: dict | None = None,
             reuse: bool = False) -> dict:
    """One `rlvr eval` run; with `reuse`, an earlier run of the same command in `out` is read instead."""
    argv = ["eval", "TemporalClue-v0", "--env-kwargs", json.dumps({"preset": preset}), "--agent", agent,
            "-n", str(n), "--seed", "0", "--out", str(out)]
    if agent_kwargs:
        argv += ["--agent-kwargs", json.dumps(agent_kwargs)]
    command = "rlvr " + " ".join(a if " " not in a and "{" not in a else f"'{a}'" for a in argv)
    meta_file = out / "calibration_meta.json"
    results = out / "results.jsonl"
    if reuse and results.is_file() and meta_file.is_file() and json.loads(meta_file.read_text())["command"] == command:
        meta = json.loads(meta_file.read_text())
        print(f"\nreusing {results} ({command})", flush=True)
    else:
        print(f"\n$ {command}", flush=True)
        load_before, started = load_average(), time.perf_counter()
        rlvr(argv)
        meta = {"command": command, "seconds": round(time.perf_counter() - started, 1), "load_before": load_before,
                "load_after": load_average()}
        meta_file.write_text(json.dumps(meta) + "\n")
    rows = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
    return {**meta, **summarise_rows(rows)}


def group_run(preset: str, puzzles: int, k: int, max_tokens: int, seed: int) -> dict:
    """`puzzles` puzzles x `k` samples at temperature 1.0; rewards graded by the env."""
    import gymnasium as gym

    import rlvr_gym  # noqa: F401  (registers the envs)
    from rlvr_gym.agents.base import load_agent

    agent = load_agent(MODEL, temperature=1.0, max_tokens=max_tokens, seed=seed)
    env = gym.make("TemporalClue-v0", preset=preset)
    load_before, started = load_average(), time.perf_counter()
    groups = []
    for i in range(puzzles):
        prompt, info = env.reset(seed=seed, options={"index": 1000 + i})  # not the eval runs' puzzles
        replies = agent.act_batch([prompt] * k, [info] * k)
        rows = []
        for reply in replies:
            env.reset(seed=seed, options={"index": 1000 + i})
            text = reply if isinstance(reply, str) else getattr(reply, "text", str(reply))
            _, reward, _, _, step_info = env.step(text)
            rows.append({"reward": reward, "format_ok": bool(step_info.get("format_ok")),
                         "named": sum(v in NAMED for v in (step_info.get("reasons") or {}).values())})
        rewards = [r["reward"] for r in rows]
        groups.append({"rewards": rewards, "format_ok": [r["format_ok"] for r in rows],
                       "named": [r["named"] for r in rows], "std": statistics.pstdev(rewards)})
        print(f"group {i}: rewards {[round(r, 2) for r in rewards]}", flush=True)
    return {"puzzles": puzzles, "k": k, "temperature": 1.0, "max_tokens": max_tokens,
            "seconds": round(time.perf_counter() - started, 1), "load_before": load_before,
            "load_after": load_average(),
            "groups_with_spread": sum(g["std"] > 0 for g in groups) / len(groups),
            "mean_within_group_std": statistics.fmean(g["std"] for g in groups),
            "format_rate": statistics.fmean(ok for g in groups for ok in g["format_ok"]),
            "mean_reward": statistics.fmean(r for g in groups for r in g["rewards"]), "groups": groups}


def to_markdown(result: dict) -> str:
    m = result["machine"]
    lines = ["# Temporal Clue: small presets for the embedded model", "",
             f"Command: `{result['command']}`", "",
             f"Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, torch {m.get('torch')} "
             f"(1 thread), {m['date']}; load average before/after each run in the cost lines.", "",
             "Reward = fraction of the lettered questions right (strict grading). Format = every lettered line "
             "parsed. Parsed accuracy = mean reward over the parsed sheets, next to what random admissible "
             "answers would score on those same puzzles (the deduction gain is the difference). Groups: "
             f"{result['group_puzzles']} puzzles x {result['group_k']} samples at temperature 1.0.", "",
             "| preset | questions | random reward | model reward (greedy) | solved | format (parsed) "
             "| lines naming one answer | accuracy on those (random) | parsed accuracy (random) "
             "| groups with spread | within-group std |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for p in result["presets"]:
        r, mo, g = p["random"], p["model"], p["groups"]
        pa = "-" if mo["parsed_accuracy"] is None else \
            f"{mo['parsed_accuracy']:.2f} ({mo['parsed_random_expectation']:.2f})"
        na = "-" if mo["named_accuracy"] is None else \
            f"{mo['named_accuracy']:.2f} ({mo['named_random_expectation']:.2f}) of {mo['named_lines']}"
        lines.append(f"| {p['preset']} | {r['questions_mean']:.1f} | {r['mean_reward']:.3f} (std {r['reward_std']:.2f}) "
                     f"| {mo['mean_reward']:.3f} (std {mo['reward_std']:.2f}) | {mo['solved']:.0%} | {mo['format_rate']:.0%} "
                     f"| {mo['named_line_rate']:.0%} | {na} | {pa} | {g['groups_with_spread']:.0%} "
                     f"| {g['mean_within_group_std']:.3f} |")
    lines += ["", "Cost:", ""]
    for p in result["presets"]:
        for key in ("random", "model"):
            run = p[key]
            tok = "" if run.get("mean_completion_tokens") is None else \
                f", tokens prompt {run['mean_prompt_tokens']:.0f} / completion {run['mean_completion_tokens']:.0f}"
            lines.append(f"- {p['preset']} {key}: {run['seconds']} s for {run['episodes']} episodes{tok}; load "
                         f"{run['load_before']} -> {run['load_after']}; `{run['command']}`")
        g = p["groups"]
        lines.append(f"- {p['preset']} groups: {g['seconds']} s; load {g['load_before']} -> {g['load_after']}; "
                     f"format {g['format_rate']:.0%}, mean reward {g['mean_reward']:.3f}")
    if result.get("note"):
        lines += ["", result["note"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["tiny", "easy"])
    parser.add_argument("--n-random", type=int, default=64)
    parser.add_argument("--n-model", type=int, default=32)
    parser.add_argument("--group-puzzles", type=int, default=8)
    parser.add_argument("--group-k", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=192)
    parser.add_argument("--quick", action="store_true", help="2 episodes everywhere (checks the script)")
    parser.add_argument("--reuse", action="store_true",
                        help="read eval runs already in OUT/calibration_runs (same command) instead of re-running")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--note", default="")
    args = parser.parse_args(argv)
    if args.quick:
        args.n_random, args.n_model, args.group_puzzles, args.group_k = 4, 2, 1, 2
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.set_num_threads(1)
    runs = args.out / "calibration_runs"
    runs.mkdir(parents=True, exist_ok=True)
    presets = []
    result = {"command": "python benchmarks/temporal_clue_small_calibration.py " + " ".join(argv or sys.argv[1:]),
              "machine": machine_info(["torch", "transformers"]), "presets": presets,
              "group_puzzles": args.group_puzzles, "group_k": args.group_k, "note": args.note}
    for preset in args.presets:
        entry = {"preset": preset,
                 "random": eval_run(preset, "random", args.n_random, runs / f"tc-small-{preset}-random",
                                    reuse=args.reuse),
                 "model": eval_run(preset, MODEL, args.n_model, runs / f"tc-small-{preset}-smollm2",
                                   {"max_tokens": args.max_tokens}, reuse=args.reuse)}
        groups_file = runs / f"tc-small-{preset}-groups.json"
        key = [args.group_puzzles, args.group_k, args.max_tokens]
        if args.reuse and groups_file.is_file() and json.loads(groups_file.read_text()).get("key") == key:
            entry["groups"] = json.loads(groups_file.read_text())["groups"]
        else:
            entry["groups"] = group_run(preset, args.group_puzzles, args.group_k, args.max_tokens, seed=0)
            groups_file.write_text(json.dumps({"key": key, "groups": entry["groups"]}) + "\n")
        presets.append(entry)
        if not args.quick:  # written after every preset, so a long run that is stopped keeps what it did
            (args.out / "temporal_clue_small_calibration.json").write_text(json.dumps(result, indent=1) + "\n")
            (args.out / "temporal_clue_small_calibration.md").write_text(to_markdown(result))
    print(to_markdown(result))
    return result


if __name__ == "__main__":
    main()
