"""``rlvr train``: GRPO (TRL) on any registered environment or a weighted mix, with a PEFT preset.

Options come from, in increasing precedence: TrainConfig defaults, ``--config FILE.yaml``, then the flags given
on the command line; ``--grpo key=value`` (repeatable) sets any other GRPOConfig field (values parsed as YAML, so
``--grpo epsilon_high=0.28 --grpo top_p=0.9`` gives floats). The Python API is agents/trainer.py ``train``.
"""

from __future__ import annotations

import argparse
import json

DESCRIPTION = """Train a causal LM with GRPO on rlvr-gym environments (TRL's GRPOTrainer underneath).

Each --env is an env id, optionally with a weight (Math-Easy-v0:0.7); the held-out set (--eval-size episodes per
env, seed --eval-seed) is evaluated before and after training with the `rlvr eval` harness."""

EPILOG = """examples:
  rlvr train --env Math-Easy-v0 --model smollm2-135m --peft lora --max-steps 30 --out runs/math
  rlvr train --env Math-Easy-v0:0.7 --env TemporalClue-Easy-v0:0.3 --peft dora --lora-r 32 --out runs/mix
  rlvr train --config configs/main_cpu.yaml --out runs/main
  rlvr train --config configs/main_cpu.yaml --out runs/main --resume      # continue from the last checkpoint
  rlvr train --env Math-v0 --model /path/to/model --vllm colocate --grpo epsilon_high=0.28   # on a GPU

run folder: config.yaml, metrics.jsonl, completions/*.parquet, checkpoint-N/, eval_before/, eval_after/,
heldout.jsonl, reward.png, heldout.png, final/, result.json.
PEFT presets: full lora dora rslora loraplus lora-fa adalora pissa milora vera miss ia3 lntuning."""


def _kv(text: str) -> tuple[str, object]:
    import yaml

    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    return key.strip().replace("-", "_"), yaml.safe_load(value)


# flag -> (TrainConfig field, type, help); defaults are left to TrainConfig / the YAML file
_FLAGS = [
    ("--model", "model", str, "smollm2-135m | tiny-random | local dir | hub name (default smollm2-135m)"),
    ("--peft", "peft", str, "PEFT preset (default lora)"),
    ("--lora-r", "lora_r", int, "adapter rank (default 16)"),
    ("--lora-alpha", "lora_alpha", float, "adapter alpha (default 2 * r)"),
    ("--lora-dropout", "lora_dropout", float, "adapter dropout (default 0.05)"),
    ("--out", "out", str, "run folder (default runs/train)"),
    ("--seed", "seed", int, "seed of the training rows and of TRL (default 0)"),
    ("--train-size", "train_size", int, "training rows (default 256)"),
    ("--eval-size", "eval_size", int, "held-out episodes per env (default 32; 0 skips evaluation)"),
    ("--eval-seed", "eval_seed", int, "seed of the held-out episodes (must differ from --seed)"),
    ("--eval-every", "eval_every", int, "also evaluate every N steps (default 0: before and after only)"),
    ("--eval-max-tokens", "eval_max_tokens", int, "max new tokens in evaluation (default max completion length)"),
    ("--system", "system", str, "a system message for every prompt"),
    ("--max-steps", "max_steps", int, "optimizer steps (default 20)"),
    ("--learning-rate", "learning_rate", float, "learning rate (default 2e-4)"),
    ("--batch-size", "per_device_train_batch_size", int, "completions per device per step (default 8)"),
    ("--num-generations", "num_generations", int, "completions per prompt (group size, default 4)"),
    ("--max-completion-length", "max_completion_length", int, "max new tokens per completion (default 128)"),
    ("--temperature", "temperature", float, "sampling temperature (default 1.0)"),
    ("--beta", "beta", float, "KL coefficient (default 0)"),
    ("--loss-type", "loss_type", str, "grpo | dr_grpo | dapo | bnpo | ... (default dapo)"),
    ("--save-steps", "save_steps", int, "checkpoint every N steps (default 10)"),
    ("--curriculum", "curriculum", str, "none | prompt-gdro | rollout-gdro (default none)"),
    ("--groups", "groups", str, "curriculum groups: pass | label (default pass)"),
    ("--device", "device", str, "auto | cpu | cuda (default auto)"),
    ("--threads", "threads", int, "torch CPU threads (default 1, measured: benchmarks/threads.py)"),
    ("--vllm", "vllm", str, "generate with vLLM: colocate | server (GPU; needs vllm installed)"),
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = DESCRIPTION
    parser.epilog = EPILOG
    parser.add_argument("--config", metavar="FILE", help="a YAML file of TrainConfig (and GRPOConfig) options")
    parser.add_argument("--env", action="append", metavar="ID[:W]", default=None,
                        help="env id with optional weight; repeat for a mix (default Math-Easy-v0)")
    parser.add_argument("--env-kwargs", metavar="JSON", default=None,
                        help='gymnasium.make kwargs per env id, e.g. \'{"Math-v0": {"levels": [1, 2]}}\'')
    parser.add_argument("--eval-env-kwargs", metavar="JSON", default=None,
                        help='kwargs laid over --env-kwargs for the held-out evaluation only, e.g. '
                             '\'{"Math-v0": {"split": "test"}}\' when training uses split "train"')
    for flag, dest, kind, help_text in _FLAGS:
        parser.add_argument(flag, dest=dest, type=kind, default=None, help=help_text)
    parser.add_argument("--target-modules", default=None, metavar="A,B",
                        help="comma-separated module names (default: q/k/v/o/gate/up/down projections)")
    parser.add_argument("--peft-kwargs", default=None, metavar="JSON", help="extra peft config options, a JSON object")
    parser.add_argument("--curriculum-kwargs", default=None, metavar="JSON", help="curriculum options, a JSON object")
    parser.add_argument("--grpo", action="append", type=_kv, default=None, metavar="KEY=VALUE",
                        help="any GRPOConfig field, e.g. --grpo epsilon_high=0.28 (repeatable)")
    parser.add_argument("--resume", action="store_true", default=None, help="continue the run in --out")
    parser.add_argument("--no-progress", dest="progress", action="store_false", default=None,
                        help="no rich progress display (TRL's log lines instead)")
    parser.add_argument("--no-eval", action="store_true", help="skip the held-out evaluation before and after")
    parser.add_argument("--json", action="store_true", help="print the result as JSON on the last line of stdout")


def config_from_args(args: argparse.Namespace):
    """TrainConfig from --config plus the flags given (flags win)."""
    from rlvr_gym.agents.trainer import TrainConfig, load_config_file
    from rlvr_gym.cli.common import parse_json_object

    data = load_config_file(args.config) if args.config else {}
    data = {k.replace("-", "_"): v for k, v in data.items()}
    for _, dest, _, _ in _FLAGS:
        value = getattr(args, dest)
        if value is not None:
            data[dest] = value
    if args.env:
        data["env"] = list(args.env)
    if args.env_kwargs:
        data["env_kwargs"] = parse_json_object(args.env_kwargs, "--env-kwargs")
    if args.eval_env_kwargs:
        data["eval_env_kwargs"] = parse_json_object(args.eval_env_kwargs, "--eval-env-kwargs")
    if args.target_modules:
        data["target_modules"] = [t.strip() for t in args.target_modules.split(",") if t.strip()]
    if args.peft_kwargs:
        data["peft_kwargs"] = parse_json_object(args.peft_kwargs, "--peft-kwargs")
    if args.curriculum_kwargs:
        data["curriculum_kwargs"] = parse_json_object(args.curriculum_kwargs, "--curriculum-kwargs")
    if args.grpo:
        data["grpo"] = {**(data.get("grpo") or {}), **dict(args.grpo)}
    if args.resume:
        data["resume"] = True
    if args.progress is not None:
        data["progress"] = args.progress
    if args.no_eval:
        data["eval_size"] = 0
    return TrainConfig.from_dict(data).validate()


def run(args: argparse.Namespace) -> int:
    from rlvr_gym.agents.trainer import train
    from rlvr_gym.cli.common import console

    config = config_from_args(args)
    result = train(config)
    out = console(stderr=args.json)
    for note in result.notes:
        out.print(f"[dim]{note}[/]")
    before, after = result.eval_before, result.eval_after
    if before is not None and after is not None:
        from rich.table import Table

        table = Table(title=f"held-out accuracy · {result.steps} steps · {result.seconds:.0f} s")
        for column in ("env", "before", "after", "change"):
            table.add_column(column, justify="left" if column == "env" else "right")
        for env_id in after["by_env"]:
            b, a = before["by_env"][env_id]["accuracy"], after["by_env"][env_id]["accuracy"]
            table.add_row(env_id, f"{b:.1%}", f"{a:.1%}", f"{a - b:+.1%}")
        table.add_row("all", f"{before['accuracy']:.1%}", f"{after['accuracy']:.1%}",
                      f"{after['accuracy'] - before['accuracy']:+.1%}", style="bold")
        out.print(table)
    out.print(f"run folder: {result.out}")
    if args.json:
        print(json.dumps(result.to_dict()), flush=True)
    return 0
