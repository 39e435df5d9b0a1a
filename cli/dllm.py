"""``rlvr dllm``: the embedded tiny diffusion LM and unmasking policies.

  rlvr dllm pretrain [--max-steps N] [--out DIR]        train the tiny masked diffusion LM (default into the cache)
  rlvr dllm train-policy --out DIR [--alpha A] ...      GRPO for an unmasking policy on Unmasking-v0
  rlvr dllm where                                       where the tiny model lives and whether it is there

The options of ``pretrain`` and ``train-policy`` are generated from the fields of their config dataclasses
(agents/unmasking/dllm_pretrain.py ``PretrainConfig``, agents/unmasking/train.py ``TrainPolicyConfig``), in the
grammar of every rlvr trainer: ``--out``, ``--max-steps``, ``--learning-rate`` (``--steps`` and ``--lr`` still work).
"""

from __future__ import annotations

import argparse
import json

DESCRIPTION = "The embedded tiny masked diffusion LM (Unmasking-v0's default backbone) and unmasking policies."
EPILOG = """examples:
  rlvr dllm pretrain                       # ~3 CPU-minutes on one thread; saves to the rlvr-gym cache
  rlvr dllm train-policy --out runs/pol-a1 --alpha 1 --max-steps 100
  rlvr dllm train-policy --out runs/pol-semi --block-length 4 --alpha 3 --expert-steering 1
  rlvr eval Unmasking-v0 --agent unmask:policy:runs/pol-a1/policy.pt -n 200 --json
  rlvr eval Unmasking-v0 --agent unmask:fast-dllm:0.9 -n 200"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from rlvr_gym.agents.unmasking.dllm_pretrain import PretrainConfig
    from rlvr_gym.agents.unmasking.train import TrainPolicyConfig
    from rlvr_gym.cli.common import add_config_arguments

    parser.description = DESCRIPTION
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    sub = parser.add_subparsers(dest="dllm_command", metavar="ACTION", title="actions")
    sub.required = True

    pre = sub.add_parser("pretrain", help="train the tiny masked diffusion LM from scratch (CPU, minutes)",
                         description="Train the tiny masked diffusion LM from scratch (CPU, minutes).")
    pre.add_argument("--out", default=None, metavar="DIR", help="where to save (default: <cache>/models/tiny-dllm)")
    add_config_arguments(pre, PretrainConfig)

    tp = sub.add_parser("train-policy", help="GRPO for an unmasking policy (paper variant)",
                        description="GRPO (PPO-clip) for an unmasking policy on Unmasking-v0 (the paper's variant).")
    tp.add_argument("--out", required=True, metavar="DIR", help="output directory (policy.pt, metrics.jsonl, plot)")
    add_config_arguments(tp, TrainPolicyConfig)

    sub.add_parser("where", help="print where the tiny model is cached and whether it is there",
                   description="Print where the tiny model is cached and whether it is there.")


def run(args: argparse.Namespace) -> int:
    from rlvr_gym.cli.common import CLIError, config_overrides

    if args.dllm_command == "where":
        from rlvr_gym.envs.unmasking.dllm import COMPLETE_MARKER, default_model_dir

        path = default_model_dir()
        state = "ready" if (path / COMPLETE_MARKER).is_file() else "missing (run `rlvr dllm pretrain`)"
        print(f"{path}  {state}")
        return 0
    if args.dllm_command == "pretrain":
        from rlvr_gym.agents.unmasking.dllm_pretrain import PretrainConfig, pretrain

        config = PretrainConfig(**config_overrides(args, PretrainConfig))
        try:
            config.validate()
        except ValueError as exc:
            raise CLIError(str(exc)) from None
        pretrain(config, out=args.out)
        return 0
    if args.dllm_command == "train-policy":
        from rlvr_gym.agents.unmasking.train import TrainPolicyConfig, train_policy

        config = TrainPolicyConfig(**config_overrides(args, TrainPolicyConfig))
        try:
            config.validate()
        except ValueError as exc:
            raise CLIError(str(exc)) from None
        final = train_policy(config, args.out)
        print(json.dumps(final))
        return 0
    raise CLIError(f"unknown dllm action {args.dllm_command!r}")  # pragma: no cover - argparse checks
