"""``rlvr generate temporal-clue``: write N solver-verified puzzles to a JSONL file.

Item i is ``generate_puzzle(config, puzzle_seed(seed, i))``, so the file is the same for any number of
workers and is exactly the sequence ``TemporalClueEnv.reset(seed=seed, options={"index": i})`` plays.
Lines are written in index order as soon as every earlier item is done.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

DESCRIPTION = """Generate Temporal Clue puzzles into a JSONL file (one Puzzle dict per line).

Item i is generated from puzzle_seed(SEED, i): the output is identical for any --workers, and line i is
the puzzle that TemporalClue env.reset(seed=SEED, options={"index": i}) plays."""
EPILOG = """examples:
  rlvr generate temporal-clue -n 100 --out easy.jsonl --difficulty easy
  rlvr generate temporal-clue -n 500 --players 3 --seed 7 --workers 8 --out p3.jsonl
  rlvr generate temporal-clue -n 10 --config '{"suspects": 4, "times": 2, "motive_mode": "unique"}' --out c.jsonl
  rlvr eval TemporalClue-v0 --agent oracle --puzzles easy.jsonl

datasets of any text env (prompts + reward columns; JSONL, parquet, datasets folder, verl): rlvr export --help"""

TASKS = ("temporal-clue",)
DIFFICULTIES = ("easy", "medium", "hard", "expert")
VOLATILE_META = ("seconds",)  # Puzzle.meta keys left out of the file (wall-clock timings)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = DESCRIPTION
    parser.epilog = EPILOG
    parser.add_argument("task", choices=TASKS, help="what to generate")
    parser.add_argument("-n", "--num", type=int, required=True, metavar="N", help="number of puzzles")
    parser.add_argument("--difficulty", choices=DIFFICULTIES, default=None,
                        help="preset (default: medium unless --players or --config is given)")
    parser.add_argument("--players", type=int, default=None, metavar="P",
                        help="1-6: sizes drawn from the original release's distribution for P players")
    parser.add_argument("--config", default=None, metavar="JSON",
                        help="TemporalClueConfig fields as a JSON object (override the preset)")
    parser.add_argument("--seed", type=int, default=0, help="sequence seed (default 0)")
    parser.add_argument("--workers", type=int, default=None, metavar="W",
                        help="worker processes (default: all cores, os.cpu_count())")
    parser.add_argument("--out", required=True, metavar="FILE.jsonl", help="output file (overwritten)")


def _line(puzzle) -> str:
    """A puzzle as one JSONL line, without the wall-clock timings (files stay byte-identical for any worker count)."""
    import json

    record = puzzle.to_dict()
    for key in VOLATILE_META:
        record["meta"].pop(key, None)
    return json.dumps(record, ensure_ascii=False)


def run(args: argparse.Namespace) -> int:
    from rlvr_gym.agents.evaluation.progress import progress_bar
    from rlvr_gym.cli.common import CLIError, console, parse_json_object
    from rlvr_gym.envs.temporal_clue.config import resolve_config
    from rlvr_gym.envs.temporal_clue.generator import iter_puzzles

    if args.num < 1:
        raise CLIError(f"-n must be at least 1, got {args.num}")
    if args.players is not None and not 1 <= args.players <= 6:
        raise CLIError(f"--players must be between 1 and 6, got {args.players}")
    workers = (os.cpu_count() or 1) if args.workers is None else args.workers
    if workers < 1:
        raise CLIError(f"--workers must be at least 1, got {workers}")
    workers = min(workers, args.num)
    config_overrides = parse_json_object(args.config, "--config")
    preset = args.difficulty
    if preset is None and args.players is None and not config_overrides:
        preset = "medium"
    config = resolve_config(preset=preset, players=args.players, config=config_overrides or None)

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    clues = questions = done = 0
    try:
        with out.open("w", encoding="utf-8") as handle, progress_bar() as progress:
            task = progress.add_task(f"generating {config.name}", total=args.num, status="")
            for _, puzzle in iter_puzzles(config, args.num, args.seed, workers):
                handle.write(_line(puzzle) + "\n")
                handle.flush()   # the file always ends with a complete line, whenever the run stops
                clues += len(puzzle.clues)
                questions += len(puzzle.questions)
                done += 1
                rate = done / max(time.perf_counter() - start, 1e-9)
                progress.update(task, advance=1, status=f"{rate:.2f}/s")
    except KeyboardInterrupt:
        # iter_puzzles has already terminated its workers; the file is closed and holds whole lines only.
        from rlvr_gym.cli.common import print_error

        print_error(f"interrupted: {out} holds the first {done} of {args.num} puzzles (complete lines; "
                    f"line i is item i of seed {args.seed})")
        return 130
    seconds = time.perf_counter() - start
    console().print(
        f"wrote {args.num} {config.name} puzzles to {out} in {seconds:.1f} s "
        f"({args.num / seconds:.2f} puzzles/s, {workers} worker{'s' if workers > 1 else ''}); "
        f"mean {clues / args.num:.1f} clues, {questions / args.num:.1f} questions",
        soft_wrap=True,
    )
    return 0
