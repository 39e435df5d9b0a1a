"""The ``rlvr`` command: one entry point, one module per subcommand.

Every subcommand module (cli/<name>.py) defines ``add_arguments(parser)`` (which may also set the
parser's description and epilog) and ``run(args) -> int``. Only the module of the subcommand being run is
imported, so ``rlvr --help`` never loads the environments, the solver or the training stack.
To add a subcommand, add one line to SUBCOMMANDS.

Errors a user can fix (a bad option, env id, agent spec, JSON or path) print one red line on stderr and
exit with code 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# name -> (module, one-line help shown by `rlvr --help`)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "envs": ("rlvr_gym.cli.envs", "list the environments: ids, what each is, its options and their defaults"),
    "play": ("rlvr_gym.cli.play", "play a Temporal Clue mystery in the terminal"),
    "generate": ("rlvr_gym.cli.generate", "generate puzzles into a JSONL file (reproducible, parallel)"),
    "export": ("rlvr_gym.cli.export", "export any text env as a dataset: JSONL, parquet, datasets folder, verl"),
    "eval": ("rlvr_gym.cli.eval", "evaluate an agent on any registered environment"),
    "train": ("rlvr_gym.cli.train", "train a model with GRPO (TRL) on any registered environment or a mix"),
    "dllm": ("rlvr_gym.cli.dllm", "diffusion-LM unmasking: train the tiny diffusion LM and unmasking policies for Unmasking-v0"),
    "pretrain": ("rlvr_gym.cli.pretrain", "pretrain a causal LM: plain, reverse KD or Late-to-Early Training (LET)"),
    "serve": ("rlvr_gym.cli.serve", "serve a local model over an OpenAI-compatible HTTP API (for openai: agents)"),
}

DESCRIPTION = "rlvr-gym: Gymnasium text environments with verifiable rewards, and the agents and trainers that learn in them."
EPILOG = """examples:
  rlvr envs
  rlvr play temporal-clue --difficulty easy
  rlvr generate temporal-clue -n 100 --difficulty hard --seed 0 --out hard.jsonl
  rlvr eval TemporalClue-Easy-v0 --agent random -n 50
  rlvr eval TemporalClue-v0 --agent oracle --puzzles hard.jsonl --out runs/oracle --json

run `rlvr SUBCOMMAND --help` for the options of one subcommand."""

# Exceptions that mean "the user asked for something that cannot be done" (exit 2, one line).
_USER_ERRORS = (ValueError, TypeError, OSError, ImportError)
EXIT_USER_ERROR = 2
EXIT_INTERNAL_ERROR = 1


def _selected(argv: list[str]) -> str | None:
    """The subcommand named on the command line (the first non-option word), if it is one we know."""
    for token in argv:
        if token.startswith("-"):
            continue
        return token if token in SUBCOMMANDS else None
    return None


def build_parser(selected: str | None = None) -> argparse.ArgumentParser:
    """The top-level parser; only the ``selected`` subcommand's module is imported to add its options."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        package_version = version("rlvr-gym")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
        package_version = "unknown"
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show full tracebacks on errors")
    parser = argparse.ArgumentParser(
        prog="rlvr", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter, parents=[debug],
    )
    parser.add_argument("--version", action="version", version=f"rlvr-gym {package_version}")
    subparsers = parser.add_subparsers(dest="command", metavar="SUBCOMMAND", title="subcommands")
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        sub = subparsers.add_parser(
            name, help=help_text, description=help_text, parents=[debug],
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if name == selected:
            module = _import_subcommand(name, module_name)
            module.add_arguments(sub)
            sub.set_defaults(_run=module.run)
    return parser


def _import_subcommand(name: str, module_name: str):
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            raise ImportError(
                f"the subcommand {name!r} is not available in this version ({module_name} is missing)"
            ) from None
        raise


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        parser = build_parser(_selected(argv))
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return EXIT_USER_ERROR
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        from rlvr_gym.cli.common import print_error

        print_error("interrupted")
        return 130
    except Exception as exc:  # one clear line unless --debug
        if debug:
            raise
        from rlvr_gym.cli.common import CLIError, print_error

        message = " ".join(str(exc).split()) or type(exc).__name__
        if isinstance(exc, (CLIError, *_USER_ERRORS)) or type(exc).__module__.startswith("gymnasium"):
            print_error(message)
            return EXIT_USER_ERROR
        print_error(f"{type(exc).__name__}: {message} (run with --debug for the traceback)")
        return EXIT_INTERNAL_ERROR


if __name__ == "__main__":
    sys.exit(main())
