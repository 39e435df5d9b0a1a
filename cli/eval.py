"""``rlvr eval ENV_ID --agent SPEC``: evaluate an agent on any registered environment.

Argument parsing and printing only: the harness (episodes, seeds, rows, summary) is agents/evaluation/harness.py.
Outputs: a table (stdout; stderr with --json), ``--out DIR/results.jsonl`` (one line per episode) and
``DIR/summary.json``; with ``--json`` the last line of stdout is the summary as one JSON object.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

DESCRIPTION = """Evaluate an agent on any registered text environment (one answer per episode).

Agent specs: random | oracle | python:module:Class[:json-kwargs] | hf:... | openai:MODEL@URL | vllm:PATH"""
EPILOG = """examples:
  rlvr eval TemporalClue-Easy-v0 --agent random -n 50
  rlvr eval TemporalClue-v0 --agent oracle --env-kwargs '{"players": 2}' -n 20 --out runs/oracle
  rlvr eval TemporalClue-v0 --agent oracle --puzzles easy.jsonl --json     # easy.jsonl from `rlvr generate`
  rlvr eval TemporalClue-v0 --agent python:my_agents:Smart:'{"depth": 2}' -n 10

outputs: DIR/results.jsonl (index, env_id, puzzle_id, difficulty, prompt, response, reward, correct,
extracted, solution, tokens, latency) and DIR/summary.json (env_id, agent, episodes, mean_reward,
solved_fraction, by_difficulty, seconds, args). An episode counts as solved when its reward is 1."""

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = DESCRIPTION
    parser.epilog = EPILOG
    parser.add_argument("env_id", metavar="ENV_ID", help="a registered env id, e.g. TemporalClue-Easy-v0")
    parser.add_argument("--agent", required=True, metavar="SPEC", help="who answers (see above)")
    parser.add_argument("-n", "--episodes", type=int, default=None, metavar="N",
                        help="episodes (default: every item of a puzzles file, else 10; more than a file "
                             "holds cycles through it again)")
    parser.add_argument("--seed", type=int, default=0, help="run seed: episode i resets with a seed derived from it")
    parser.add_argument("--env-kwargs", default=None, metavar="JSON", help="kwargs for gymnasium.make, a JSON object")
    parser.add_argument("--agent-kwargs", default=None, metavar="JSON",
                        help="options for model agents (max_tokens, temperature, ...), a JSON object")
    parser.add_argument("--puzzles", default=None, metavar="FILE",
                        help="Temporal Clue ids: play the puzzles of this file (`rlvr generate` JSONL, or the "
                             "original release's val.json/test.json)")
    parser.add_argument("--out", default=None, metavar="DIR", help="write DIR/results.jsonl and DIR/summary.json")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON on the last line of stdout")
    parser.add_argument("--batch-size", type=int, default=8, metavar="B",
                        help="observations per agent call (default 8)")
    parser.add_argument("--concurrency", type=int, default=1, metavar="C",
                        help="agent calls in flight at once, in threads (default 1; for API agents)")


def run(args: argparse.Namespace) -> int:
    from rlvr_gym.agents.evaluation import evaluate, write_run
    from rlvr_gym.cli.common import CLIError, console, existing_file, parse_json_object

    if args.episodes is not None and args.episodes < 1:
        raise CLIError(f"-n must be at least 1, got {args.episodes}")
    if args.batch_size < 1:
        raise CLIError(f"--batch-size must be at least 1, got {args.batch_size}")
    if args.concurrency < 1:
        raise CLIError(f"--concurrency must be at least 1, got {args.concurrency}")
    env_kwargs = parse_json_object(args.env_kwargs, "--env-kwargs")
    agent_kwargs = parse_json_object(args.agent_kwargs, "--agent-kwargs")
    if args.puzzles is not None:
        _check_puzzles_option(args.env_id, args.puzzles)
        env_kwargs["puzzles"] = str(existing_file(args.puzzles, "--puzzles"))

    rows, summary = evaluate(
        args.env_id, args.agent, episodes=args.episodes, seed=args.seed, env_kwargs=env_kwargs,
        agent_kwargs=agent_kwargs, batch_size=args.batch_size, concurrency=args.concurrency,
    )
    summary["args"] = {k: v for k, v in vars(args).items() if not k.startswith("_")}
    if args.out:
        write_run(args.out, rows, summary)

    table_console = console(stderr=args.json)
    table_console.print(summary_table(summary))
    if args.out:
        table_console.print(f"results: {Path(args.out) / 'results.jsonl'}  summary: {Path(args.out) / 'summary.json'}")
    if args.json:
        print(json.dumps(summary, ensure_ascii=False), flush=True)
    return 0


def _check_puzzles_option(env_id: str, path: str) -> None:
    """--puzzles is a Temporal Clue option: say so, in the user's terms, for an env that has no such option."""
    import json as _json

    from rlvr_gym.cli.common import CLIError
    from rlvr_gym.envs.registration import env_options

    options = env_options(env_id)
    if not options or "puzzles" in options:
        return          # a Temporal Clue id, or an id this check cannot see into (make_env will say)
    if "source" in options:
        source = _json.dumps({"source": path})
        raise CLIError(f"--puzzles plays a file of Temporal Clue puzzles; {env_id} reads problems from a file with "
                       f"--env-kwargs '{source}' (JSONL/JSON/parquet: question and answer fields)")
    raise CLIError(f"--puzzles plays a file of Temporal Clue puzzles; {env_id} takes no puzzle file "
                   f"(its options: {', '.join(options)}; see `rlvr envs {env_id}`)")


def summary_table(summary: dict):
    from rich.table import Table

    table = Table(title=f"{summary['env_id']} · agent {summary['agent']} · {summary['seconds']:.1f} s")
    columns = [("episodes", "episodes", "{}"), ("mean reward", "mean_reward", "{:.3f}"),
               ("solved", "solved_fraction", "{:.1%}")]
    optional = [("format ok", "format_ok_fraction", "{:.1%}"), ("latency s", "mean_latency_s", "{:.3f}"),
                ("prompt tok", "mean_prompt_tokens", "{:.0f}"), ("completion tok", "mean_completion_tokens", "{:.0f}"), ("correct", "correct_fraction", "{:.1%}"), ("NFE", "mean_nfe", "{:.2f}")]
    columns += [c for c in optional if c[1] in summary]
    table.add_column("difficulty")
    for title, _, _ in columns:
        table.add_column(title, justify="right")
    groups = summary.get("by_difficulty") or {}
    for name, stats in groups.items():
        table.add_row(name, *[fmt.format(stats[key]) if key in stats else "-" for _, key, fmt in columns])
    table.add_row("all", *[fmt.format(summary[key]) for _, key, fmt in columns], style="bold")
    return table
