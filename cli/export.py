"""``rlvr export``: datasets of any text env for other engines (envs/export.py, envs/interop/verl.py).

    rlvr export dataset Math-v0 -n 1000 --out math.jsonl            # or .parquet, or a folder (datasets)
    rlvr export verl TemporalClue-Easy-v0 -n 512 --out tc.parquet   # verl's RL dataset schema
"""

from __future__ import annotations

import argparse
import os
import time

DESCRIPTION = """Export N episodes of a text environment as a dataset other engines read.

Row i is the episode env.reset(seed=episode_seed(SEED, i)): the prompt as chat messages, env_id, env_kwargs,
seed, index, difficulty and the env's reward columns (what env.grade_text needs to grade a response exactly as
env.step does). The output is identical for any --workers.

  dataset   JSONL (.jsonl), parquet (.parquet) or a Hugging Face datasets folder (anything else; load_from_disk)
  verl      verl's RL parquet: data_source, prompt, ability, reward_model {style: rule, ground_truth},
            extra_info {index, split, difficulty, seed, env_id}; reward: rlvr_gym.envs.interop.verl.compute_score"""
EPILOG = """examples:
  rlvr export dataset Math-v0 -n 1000 --env-kwargs '{"levels": [1, 2, 3]}' --out math.jsonl
  rlvr export dataset TemporalClue-Easy-v0 -n 200 --workers 2 --out tc_easy     # a datasets folder
  rlvr export verl Math-v0 -n 4096 --env-kwargs '{"split": "train"}' --out train.parquet
  rlvr export verl Math-v0 -n 512 --seed 1 --split test --env-kwargs '{"split": "test"}' --out test.parquet
  # verl: reward.custom_reward_function.path=pkg://rlvr_gym.envs.interop.verl
  #       reward.custom_reward_function.name=compute_score"""

KINDS = ("dataset", "verl")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = DESCRIPTION
    parser.epilog = EPILOG
    parser.add_argument("kind", choices=KINDS, help="dataset (JSONL / parquet / datasets folder) or verl (parquet)")
    parser.add_argument("env_id", metavar="ENV_ID", help="a registered text env id, e.g. Math-v0, TemporalClue-Easy-v0")
    parser.add_argument("-n", "--num", type=int, required=True, metavar="N", help="number of rows")
    parser.add_argument("--out", required=True, metavar="PATH", help="output file or folder (overwritten)")
    parser.add_argument("--seed", type=int, default=0, help="dataset seed: row i resets with episode_seed(SEED, i)")
    parser.add_argument("--env-kwargs", default=None, metavar="JSON", help="env options, a JSON object")
    parser.add_argument("--system", default=None, metavar="TEXT", help="a system message before every prompt")
    parser.add_argument("--format", choices=("jsonl", "parquet", "hf"), default=None,
                        help="dataset: the file format (default: from --out's suffix; no suffix -> hf)")
    parser.add_argument("--split", default="train", help="verl: the extra_info.split label (default train); "
                                                         "it labels rows only, env options choose questions")
    parser.add_argument("--workers", type=int, default=1, metavar="W",
                        help="worker processes (default 1; the rows do not depend on it)")


def run(args: argparse.Namespace) -> int:
    from rlvr_gym.cli.common import CLIError, console, parse_json_object

    if args.num < 1:
        raise CLIError(f"-n must be at least 1, got {args.num}")
    if args.workers < 1:
        raise CLIError(f"--workers must be at least 1, got {args.workers}")
    workers = min(args.workers, os.cpu_count() or 1, args.num)
    env_kwargs = parse_json_object(args.env_kwargs, "--env-kwargs")
    import rlvr_gym  # noqa: F401  (registers the env ids)

    start = time.perf_counter()
    if args.kind == "verl":
        if args.format not in (None, "parquet"):
            raise CLIError("verl reads parquet: --format must be parquet (or left out)")
        from rlvr_gym.envs.interop.verl import verl_rows, write_verl_parquet

        rows = verl_rows(args.env_id, args.num, args.seed, split=args.split, env_kwargs=env_kwargs,
                         system=args.system, workers=workers)
        count, fmt = write_verl_parquet(rows, args.out), "verl parquet"
    else:
        from rlvr_gym.envs.export import build_rows, write_rows

        rows = build_rows(args.env_id, args.num, args.seed, env_kwargs=env_kwargs, system=args.system,
                          workers=workers)
        count, fmt = len(rows), write_rows(rows, args.out, args.format)
    seconds = time.perf_counter() - start
    console().print(f"wrote {count} {args.env_id} rows ({fmt}) to {args.out} in {seconds:.1f} s "
                    f"({workers} worker{'s' if workers > 1 else ''})", soft_wrap=True)
    return 0
