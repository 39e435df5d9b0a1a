"""``rlvr dllm``: the embedded tiny diffusion LM and unmasking policies.

  rlvr dllm pretrain [--steps N] [--out DIR]       train the tiny masked diffusion LM (default into the cache)
  rlvr dllm train-policy --out DIR [--alpha A] ... GRPO for an unmasking policy on Unmasking-v0
  rlvr dllm where                                  where the tiny model lives and whether it is there
"""

from __future__ import annotations

import argparse
import json

DESCRIPTION = "The embedded tiny masked diffusion LM (Unmasking-v0's default backbone) and unmasking policies."
EPILOG = """examples:
  rlvr dllm pretrain                       # ~3 CPU-minutes on one thread; saves to the rlvr-gym cache
  rlvr dllm train-policy --out runs/pol-a1 --alpha 1 --steps 100
  rlvr dllm train-policy --out runs/pol-semi --block-length 4 --alpha 3 --expert-steering 1
  rlvr eval Unmasking-v0 --agent unmask:policy:runs/pol-a1/policy.pt -n 200 --json
  rlvr eval Unmasking-v0 --agent unmask:fast-dllm:0.9 -n 200"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = DESCRIPTION
    parser.epilog = EPILOG
    sub = parser.add_subparsers(dest="dllm_command", metavar="ACTION", title="actions")
    sub.required = True

    pre = sub.add_parser("pretrain", help="train the tiny masked diffusion LM from scratch (CPU, minutes)")
    pre.add_argument("--out", default=None, metavar="DIR", help="where to save (default: <cache>/models/tiny-dllm)")
    pre.add_argument("--tasks", default="permute,addition-pad", metavar="SPECS",
                     help="comma-separated task specs (permute, split, addition, addition-pad, math-easy, math:<levels>); "
                          "the first is Unmasking-v0's default task with this model (default: permute,addition-pad)")
    pre.add_argument("--steps", type=int, default=2000)
    pre.add_argument("--batch-size", type=int, default=64)
    pre.add_argument("--lr", type=float, default=3e-3)
    pre.add_argument("--weighting", choices=("none", "1/t"), default="none",
                     help="loss weighting of masked tokens: none (default) or 1/t (the diffusion ELBO)")
    pre.add_argument("--seed", type=int, default=0)
    pre.add_argument("--threads", type=int, default=1, help="torch threads (default 1: fastest for tiny models)")
    pre.add_argument("--eval-every", type=int, default=500, metavar="N")
    pre.add_argument("--model-json", default=None, metavar="JSON",
                     help='overrides of the BERT config, e.g. \'{"hidden_size": 64, "num_hidden_layers": 2}\'')

    tp = sub.add_parser("train-policy", help="GRPO for an unmasking policy (paper variant)")
    tp.add_argument("--out", required=True, metavar="DIR", help="output directory (policy.pt, metrics.jsonl, plot)")
    tp.add_argument("--model", default=None, help="diffusion LM directory (default: the embedded tiny model)")
    tp.add_argument("--task", default=None, help="task spec (default: the task the diffusion LM was pretrained on)")
    tp.add_argument("--gen-length", type=int, default=8, metavar="L")
    tp.add_argument("--block-length", type=int, default=None, metavar="BL", help="default: L (full diffusion)")
    tp.add_argument("--alpha", type=float, default=1.0)
    tp.add_argument("--reward-form", choices=("multiplicative", "additive"), default="multiplicative")
    tp.add_argument("--steps", type=int, default=100)
    tp.add_argument("--prompts-per-step", type=int, default=8)
    tp.add_argument("--group-size", type=int, default=8, metavar="G")
    tp.add_argument("--lr", type=float, default=1e-3)
    tp.add_argument("--expert-steering", type=int, default=0, metavar="E",
                    help="Fast-dLLM rollouts per group (expert steering)")
    tp.add_argument("--eval-tau", type=float, default=None, help="default test-time temperature stored in the checkpoint")
    tp.add_argument("--eval-every", type=int, default=25)
    tp.add_argument("--eval-items", type=int, default=128)
    tp.add_argument("--seed", type=int, default=0)
    tp.add_argument("--threads", type=int, default=1)

    sub.add_parser("where", help="print where the tiny model is cached and whether it is there")


def run(args: argparse.Namespace) -> int:
    from rlvr_gym.cli.common import CLIError, parse_json_object

    if args.dllm_command == "where":
        from rlvr_gym.envs.unmasking.dllm import COMPLETE_MARKER, default_model_dir

        path = default_model_dir()
        state = "ready" if (path / COMPLETE_MARKER).is_file() else "missing (run `rlvr dllm pretrain`)"
        print(f"{path}  {state}")
        return 0
    if args.dllm_command == "pretrain":
        from rlvr_gym.agents.unmasking.dllm_pretrain import PretrainConfig, pretrain

        tasks = tuple(t.strip() for t in args.tasks.split(",") if t.strip())
        config = PretrainConfig(tasks=tasks, steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                                threads=args.threads, eval_every=args.eval_every, weighting=args.weighting,
                                model=parse_json_object(args.model_json, "--model-json"))
        try:
            config.validate()
        except ValueError as exc:
            raise CLIError(str(exc)) from None
        pretrain(config, out=args.out)
        return 0
    if args.dllm_command == "train-policy":
        from rlvr_gym.agents.unmasking.train import TrainPolicyConfig, train_policy

        config = TrainPolicyConfig(model=args.model, task=args.task, gen_length=args.gen_length,
                                   block_length=args.block_length, alpha=args.alpha, reward_form=args.reward_form,
                                   steps=args.steps, prompts_per_step=args.prompts_per_step,
                                   group_size=args.group_size, lr=args.lr, expert_steering=args.expert_steering,
                                   eval_tau=args.eval_tau, eval_every=args.eval_every, eval_items=args.eval_items,
                                   seed=args.seed, threads=args.threads)
        try:
            config.validate()
        except ValueError as exc:
            raise CLIError(str(exc)) from None
        final = train_policy(config, args.out)
        print(json.dumps(final))
        return 0
    raise CLIError(f"unknown dllm action {args.dllm_command!r}")  # pragma: no cover - argparse checks
