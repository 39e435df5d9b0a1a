"""``rlvr envs [ENV_ID]``: every registered env id with one line on what it is, and its options with their defaults
(what ``gymnasium.make(ENV_ID, **options)``, ``--env-kwargs`` and ``env_kwargs`` in a train config take).

Argument parsing and printing only: the facts come from envs/registration.py (``describe_env``).
"""

from __future__ import annotations

import argparse
import json

DESCRIPTION = "List the environments: each id, what it is, and its options (gymnasium.make kwargs) with defaults."
EPILOG = """examples:
  rlvr envs                              # every id, one line each, then its options
  rlvr envs Math-v0                      # one env: each option on its own line
  rlvr envs --json                       # the same as JSON (id, description, entry_point, options)
  rlvr eval Math-v0 --agent random --env-kwargs '{"levels": [0], "split": "test"}'"""

SHOWN_CHARS = 60   # option defaults longer than this are shortened in the list (use ENV_ID or --json for all)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = DESCRIPTION
    parser.epilog = EPILOG
    parser.add_argument("env_id", nargs="?", default=None, metavar="ENV_ID", help="show one env id in full")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def _value(value, limit: int | None = SHOWN_CHARS) -> str:
    text = repr(value)
    return text if limit is None or len(text) <= limit else text[: limit - 4] + "...'"


def run(args: argparse.Namespace) -> int:
    import rlvr_gym  # noqa: F401  (registers the ids)
    from rlvr_gym.envs.registration import describe_env, rlvr_env_ids

    ids = [args.env_id] if args.env_id else rlvr_env_ids()
    envs = [describe_env(env_id) for env_id in ids]
    if args.json:
        print(json.dumps(envs if args.env_id is None else envs[0], default=repr, indent=None))
        return 0
    width = max(len(e["id"]) for e in envs)
    for env in envs:
        print(f"{env['id']:<{width}}  {env['description']}")
        if args.env_id:
            print(f"  class: {env['entry_point']}")
            print("  options (gymnasium.make kwargs, --env-kwargs) and defaults:")
            for name, default in env["options"].items():
                print(f"    {name} = {_value(default, None)}")
        else:
            options = ", ".join(f"{k}={_value(v)}" for k, v in env["options"].items())
            print(f"{'':<{width}}  options: {options}")
    if not args.env_id:
        print("\nrlvr envs ENV_ID shows one env in full; options go to --env-kwargs (rlvr eval) or env_kwargs "
              "(rlvr train).")
    return 0
