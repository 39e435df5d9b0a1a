"""Config fields that declare their own command-line option (TRL's HfArgumentParser style).

A trainer's config is one dataclass; each field carries its help text (and, where the flag is not simply the
field's name, its flag) in the field's metadata, so the field is declared once and ``rlvr train`` /
``rlvr pretrain`` build their options from it (cli/common.py ``add_config_arguments``):

    max_steps: int = option(20, "optimizer steps", section="GRPO")
    per_device_train_batch_size: int = option(8, "completions per device per step", flag="--batch-size")

Metadata keys: ``help``; ``flag`` (default ``--field-name``); ``aliases`` (older spellings of the flag that keep
working, hidden from --help); ``section`` (the --help group); ``choices``; ``metavar``; ``style``: "append" (repeat
the flag for a list), "comma" (a comma-separated list), "json" (a JSON object), "kv" (repeatable KEY=VALUE into a
dict, values read as YAML); ``const`` (the flag may stand alone and then sets this value, or take a value);
``cli=False`` keeps a field off the command line (it stays settable from YAML and Python).

One grammar across the trainers' commands: the run folder is ``--out``, the step count ``--max-steps``, the learning
rate ``--learning-rate``, and ``--resume`` alone continues the run in ``--out``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["option"]

_MISSING = dataclasses.MISSING


def option(default: Any = _MISSING, help: str = "", *, default_factory: Any = _MISSING, flag: str | None = None,
           aliases: tuple[str, ...] | None = None, section: str | None = None, choices: tuple | None = None,
           metavar: str | None = None, style: str | None = None, const: Any = None, cli: bool = True) -> Any:
    """A dataclass field with its command-line option in the metadata (see the module docstring)."""
    metadata = {"help": help, "flag": flag, "aliases": aliases, "section": section, "choices": choices,
                "metavar": metavar, "style": style, "const": const, "cli": cli}
    metadata = {k: v for k, v in metadata.items() if v is not None}
    if default_factory is not _MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)
