"""``rlvr pretrain``: causal-LM pretraining with LET, plain pretraining or reverse distillation.

Every field of ``PretrainConfig`` is a flag, generated from the field's declaration (``--hidden-size 256``,
``--no-progress``); ``--config run.yaml`` reads the same names from YAML first, and flags given on the command line
override it. Examples:

    rlvr pretrain --method baseline --tokenizer bpe:2048 --n-layers 2 --hidden-size 64 --out runs/small
    rlvr pretrain --method let --teacher runs/small/final --n-layers 6 --hidden-size 192 --s-stop 100
    rlvr pretrain --config run.yaml --out runs/let --resume         # continue the run in --out
"""

from __future__ import annotations

import argparse
import json
import sys

# The config module imports nothing heavy at import time, so building the parser stays fast.
from rlvr_gym.agents.pretrain.trainer import PretrainConfig


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from rlvr_gym.cli.common import add_config_arguments

    parser.description = "causal-LM pretraining with Late-to-Early Training (LET), plain pretraining or RKD"
    parser.epilog = __doc__.split("\n\n", 2)[2]
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--config", help="YAML file with PretrainConfig settings (flags override it)")
    parser.add_argument("--print-config", action="store_true", help="print the resolved settings and exit")
    add_config_arguments(parser, PretrainConfig)   # one option per PretrainConfig field, with its help and default


def config_from_args(args: argparse.Namespace) -> PretrainConfig:
    from rlvr_gym.cli.common import config_overrides

    overrides = config_overrides(args, PretrainConfig)
    if getattr(args, "config", None):
        return PretrainConfig.from_yaml(args.config, **overrides)
    return PretrainConfig.from_dict(overrides)


def run(args: argparse.Namespace) -> int:
    """Train; a bad setting raises ValueError (``rlvr`` prints it as one line and exits with 2)."""
    cfg = config_from_args(args).validate()
    if getattr(args, "print_config", False):
        print(json.dumps(cfg.to_dict(), indent=2))
        return 0
    from rlvr_gym.agents.pretrain.trainer import train  # noqa: PLC0415

    summary = train(cfg)
    print(json.dumps(summary, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m rlvr_gym.cli.pretrain``: the same as ``rlvr pretrain``."""
    parser = argparse.ArgumentParser(prog="rlvr pretrain")
    add_arguments(parser)
    try:
        return run(parser.parse_args(argv))
    except (ValueError, TypeError, OSError) as exc:
        print(f"rlvr pretrain: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
