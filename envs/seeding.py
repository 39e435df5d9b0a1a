"""Seeds of the items of a seeded sequence: the one rule every generator and the evaluation harness use.

    item_seed(namespace, seed, index) -> int

Item ``index`` of the sequence ``seed`` gets the first 64 bits (big-endian) of
``sha256("rlvr-gym/<namespace>/<seed>/<index>")``: the same number in every process, Python version and
``PYTHONHASHSEED``, and any item is addressable without generating the ones before it. The namespace keeps
sequences of different generators apart (the same ``seed`` gives unrelated items in each).

Namespaces in use:
- ``"math"``: procedural math problems (envs/math/procedural.py);
- ``"unmasking/<task>"``: the synthetic tasks of Unmasking-v0;
- ``"temporal-clue"``: generated Temporal Clue puzzles (``generator.puzzle_seed``);
- ``"episode"``: the reset seed of episode ``i`` of a run (``episode_seed``): the evaluation harness
  and the GRPO training rows (63 bits: a reset seed must fit a signed 64-bit dataset column).
"""

from __future__ import annotations

import hashlib

__all__ = ["item_seed", "episode_seed"]


def item_seed(namespace: str, seed: int, index: int) -> int:
    """The seed of item ``index`` of the sequence ``seed`` in ``namespace`` (a 64-bit int, see the module docstring)."""
    if not isinstance(namespace, str) or not namespace:
        raise ValueError(f"namespace must be a non-empty str, got {namespace!r}")
    digest = hashlib.sha256(f"rlvr-gym/{namespace}/{int(seed)}/{int(index)}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def episode_seed(seed: int, index: int) -> int:
    """The reset seed of episode ``index`` of a run seeded with ``seed``: ``item_seed("episode", seed, index)``
    shifted right by one bit, so that it fits a signed 64-bit column (datasets, parquet, JSON readers)."""
    return item_seed("episode", seed, index) >> 1
