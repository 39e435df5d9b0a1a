"""``rlvr train``: GRPO (TRL) on any registered environment or a weighted mix, with a PEFT preset.

Argument parsing and printing only. The options are generated from TrainConfig's fields (agents/grpo/config.py:
each field declares its flag, help and default once). They come from, in increasing precedence: TrainConfig
defaults, ``--config FILE.yaml``, then the flags given on the command line; ``--grpo key=value`` (repeatable) sets
any other GRPOConfig field (values parsed as YAML, so ``--grpo epsilon_high=0.28 --grpo top_p=0.9`` gives floats).
The Python API is ``rlvr_gym.agents.grpo.train``.
"""

from __future__ import annotations

import argparse
import json
import os

DESCRIPTION = """Train a causal LM with GRPO on rlvr-gym environments (TRL's GRPOTrainer underneath).

Each --env is an env id, optionally with a weight (Math-Easy-v0:0.7); the held-out set (--eval-size episodes per
env, seed --eval-seed) is evaluated before and after training with the `rlvr eval` harness."""

EPILOG = """examples:
  rlvr train --env Math-v0 --env-kwargs '{"Math-v0": {"levels": [0], "last_number": true}}' --max-steps 30 --out runs/math
  rlvr train --env Math-Easy-v0:0.7 --env TemporalClue-Easy-v0:0.3 --peft dora --lora-r 32 --out runs/mix
  rlvr train --config configs/main_cpu.yaml --out runs/main
  rlvr train --config configs/main_cpu.yaml --out runs/main --resume      # continue from the last checkpoint
  rlvr train --config configs/main_cpu.yaml --out runs/main --resume --max-steps 40   # extend a finished run
  rlvr train --config configs/main_cpu.yaml --model runs/main/final --out runs/more  # keep training an adapter
  rlvr train --env Math-v0 --model /path/to/model --vllm colocate --grpo epsilon_high=0.28   # on a GPU
  rlvr train --env Math-v0 --rollouts vllm --vllm-url http://127.0.0.1:8001 --out runs/v   # a vLLM server's rollouts
  rlvr train --env Math-v0 --rollouts vllm --vllm-url auto --out runs/v     # ... from a server started for the run

run folder: config.yaml, metrics.jsonl, completions/*.parquet, checkpoint-N/, eval_before/, eval_after/,
heldout.jsonl, reward.png, heldout.png, final/, result.json. Running a finished run again reports its result and
changes nothing. Everything is checked before the model loads; a run that fails before training leaves no folder.
PEFT presets: full lora dora rslora loraplus lora-fa adalora pissa milora vera miss ia3 lntuning."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from rlvr_gym.agents.grpo.config import TrainConfig
    from rlvr_gym.cli.common import add_config_arguments

    parser.description = DESCRIPTION
    parser.epilog = EPILOG
    parser.add_argument("--config", metavar="FILE", help="a YAML file of TrainConfig (and GRPOConfig) options")
    parser.add_argument("--no-eval", action="store_true", help="skip the held-out evaluation (--eval-size 0)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON on the last line of stdout")
    parser.add_argument("--list-grpo-options", action="store_true",
                        help="print every GRPOConfig option that --grpo KEY=VALUE (or a YAML key) can set, and exit")
    add_config_arguments(parser, TrainConfig)   # one option per TrainConfig field, with its help and default


def config_from_args(args: argparse.Namespace):
    """TrainConfig from --config plus the options given (the command line wins; --grpo merges into the file's)."""
    from rlvr_gym.agents.grpo.config import TrainConfig, load_config_file
    from rlvr_gym.cli.common import config_overrides

    data = load_config_file(args.config) if args.config else {}
    data = {k.replace("-", "_"): v for k, v in data.items()}
    given = config_overrides(args, TrainConfig)
    if "grpo" in given:
        given["grpo"] = {**(data.get("grpo") or {}), **given["grpo"]}
    data.update(given)
    if args.no_eval:
        data["eval_size"] = 0
    return TrainConfig.from_dict(data).validate()


def eval_commands(config, out) -> list[str]:
    """The ``rlvr eval`` command per env that evaluates ``out/final`` exactly as the run's held-out evaluation did
    (same episodes, seed, env options, greedy decoding, token budget, system message, batch size)."""
    import shlex

    from rlvr_gym.agents.grpo.data import parse_env_specs

    options = {"temperature": 0, "max_tokens": config.eval_max_tokens or config.max_completion_length,
               "batch_size": config.eval_batch_size}
    if config.system:
        options["system"] = config.system
    commands = []
    for env_id, _ in parse_env_specs(config.env):
        words = ["rlvr", "eval", env_id, "--agent", f"hf:{out}/final", "--agent-kwargs", json.dumps(options),
                 "-n", str(config.eval_size or 32), "--seed", str(config.eval_seed),
                 "--batch-size", str(config.eval_batch_size)]
        kwargs = {**config.env_kwargs.get(env_id, {}), **config.eval_env_kwargs.get(env_id, {})}
        if kwargs:
            words += ["--env-kwargs", json.dumps(kwargs)]
        commands.append(" ".join(shlex.quote(w) for w in words))
    return commands


def _list_grpo_options() -> int:
    import dataclasses

    from trl import GRPOConfig

    from rlvr_gym.agents.grpo.config import TrainConfig

    own = {f.name for f in dataclasses.fields(TrainConfig)}
    print("GRPOConfig options for --grpo KEY=VALUE (those marked * have their own rlvr train flag):")
    for f in sorted(dataclasses.fields(GRPOConfig), key=lambda f: f.name):
        if f.name.startswith("_"):
            continue
        default = f.default if f.default is not dataclasses.MISSING else (
            "(computed)" if f.default_factory is dataclasses.MISSING else f.default_factory())
        print(f"  {'*' if f.name in own else ' '} {f.name} = {default!r}")
    return 0


def run(args: argparse.Namespace) -> int:
    from rlvr_gym.agents.grpo import train
    from rlvr_gym.cli.common import console

    if args.list_grpo_options:
        return _list_grpo_options()
    config = config_from_args(args)
    result = train(config)
    if os.environ.get("RANK", "0") != "0":     # another rank of a multi-process launch: the main one reports
        return 0
    out = console(stderr=args.json)
    for note in result.notes:
        out.print(f"[dim]{note}[/]", soft_wrap=True)
    before, after = result.eval_before, result.eval_after
    if before is not None and after is not None:
        from rich.table import Table

        title = "finished run" if result.reported else "held-out accuracy"
        table = Table(title=f"{title} · {result.steps} steps · {result.seconds:.0f} s")
        for column in ("env", "before", "after", "change"):
            table.add_column(column, justify="left" if column == "env" else "right")
        for env_id in after["by_env"]:
            b, a = before["by_env"][env_id]["accuracy"], after["by_env"][env_id]["accuracy"]
            table.add_row(env_id, f"{b:.1%}", f"{a:.1%}", f"{a - b:+.1%}")
        table.add_row("all", f"{before['accuracy']:.1%}", f"{after['accuracy']:.1%}",
                      f"{after['accuracy'] - before['accuracy']:+.1%}", style="bold")
        out.print(table)
    out.print(f"run folder: {result.out}")
    out.print("evaluate the trained model again (the held-out episodes of this run):" if config.eval_size else
              "evaluate the trained model on held-out episodes (the seed --eval-seed names):", soft_wrap=True)
    for command in eval_commands(config, result.out):
        out.print(f"  {command}", soft_wrap=True, markup=False, highlight=False)
    if args.json:
        print(json.dumps(result.to_dict()), flush=True)
    return 0
