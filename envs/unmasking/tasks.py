"""Tasks for ``Unmasking-v0``: prompts whose completions a verifier can check.

A task is an addressable sequence of items (item ``i`` of a task with seed ``s`` is the same in every
process) plus a verifier over the decoded completion text:

- ``AdditionTask`` (spec ``"addition"`` = 3 digits, or ``"addition:<max_digits>"``; the default task):
  ``"821+379="`` -> ``"1200"``. Operands have 1..max_digits digits (each length equally likely). The order of unmasking matters
  here: the leading digits of a sum depend on carries that come from the right, so a decoder that commits
  to the left digits first, or to every digit in one parallel step, guesses more than one that fills in the
  digits the model is sure of first.
- ``AdditionTask(pad=True)`` (spec ``"addition-pad"`` / ``"addition-pad:<max_digits>"``): the same sums in
  fixed width, operands and answer zero-padded (``"082+379="`` -> ``"0461"``), so every digit sits at a fixed
  offset; much easier for a tiny model with absolute position embeddings to learn. Carries still flow from the
  right.
- ``SplitTask`` (spec ``"split"`` / ``"split:<max_n>"``): ``"57="`` -> any ``"a+b"`` with a + b = 57 (a, b >= 0,
  no leading zeros). Many completions are right, so the model's per-position distributions are multi-modal
  until some digits are fixed: unmasking every position at once picks each digit from a different split and
  is usually wrong, while unmasking a few digits first makes the rest certain. This is the parallel-decoding
  failure that unmasking policies must learn to avoid, in its smallest form.
- ``PermuteTask`` (spec ``"permute"`` / ``"permute:<max_k>"``; the embedded model's first task): ``"dkqa="`` ->
  any ordering of the k (3..max_k, default 5) distinct letters, e.g. ``"qadk"``. Every position's distribution
  is spread over the letters not yet placed, so positions unmasked together often take the same letter
  (wrong), while each letter placed makes the others surer; the last one is certain. Confidence-aware
  decoding needs about k forward passes; all-at-once decoding almost always fails.
- ``MathEasyTask`` (spec ``"math-easy"`` = level 1, or ``"math:<levels>"`` such as ``"math:1,2"``): the
  procedural problems of the Math env (``rlvr_gym.envs.math.procedural``); the completion is the bare
  answer ("579", "-7/4") and is checked with ``rlvr_gym.verifiers.math.compare`` (exact numbers).

Both verifiers are strict: the decoded completion (text before the first end-of-sequence token, stripped
of surrounding spaces) must BE the answer; a number followed by anything else is wrong.

``TaskItem``: id, prompt (what the diffusion LM is conditioned on), answer (gold text), meta.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from rlvr_gym.envs.seeding import item_seed

__all__ = ["TaskItem", "Task", "AdditionTask", "PermuteTask", "SplitTask", "MathEasyTask", "make_task", "TASK_SPECS"]

TASK_SPECS = "permute[:<max_k>] | split[:<max_n>] | addition | addition:<max_digits> | addition-pad[:<max_digits>] | math-easy | math:<level>[,<level>...]"
INDEX_RANGE = 2**31


@dataclass(frozen=True)
class TaskItem:
    """One prompt with its gold answer. ``meta`` holds task-specific fields (operands, level)."""

    id: str
    prompt: str
    answer: str
    meta: dict = field(default_factory=dict)


@runtime_checkable
class Task(Protocol):
    """What Unmasking-v0 needs from a task."""

    name: str

    def item(self, index: int) -> TaskItem: ...

    def verify(self, item: TaskItem, text: str) -> bool: ...


def _item_rng(task: str, seed: int, index: int) -> random.Random:
    return random.Random(item_seed(f"unmasking/{task}", seed, index))


def _check_index(index: int) -> int:
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < INDEX_RANGE:
        raise IndexError(f"index must be an int in [0, 2**31), got {index!r}")
    return index


class AdditionTask:
    """Multi-digit addition with carries: prompt ``"a+b="``, answer ``str(a + b)``."""

    def __init__(self, max_digits: int = 3, seed: int = 1, min_digits: int = 1, pad: bool = False):
        if isinstance(max_digits, bool) or not isinstance(max_digits, int) or not 1 <= max_digits <= 18:
            raise ValueError(f"max_digits must be an int in 1..18, got {max_digits!r}")
        if isinstance(min_digits, bool) or not isinstance(min_digits, int) or not 1 <= min_digits <= max_digits:
            raise ValueError(f"min_digits must be an int in 1..max_digits, got {min_digits!r}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int, got {type(seed).__name__}")
        self.max_digits, self.min_digits, self.seed, self.pad = max_digits, min_digits, seed, bool(pad)
        self.name = f"addition-pad:{max_digits}" if pad else f"addition:{max_digits}"
        # "a+b=" plus the answer; the longest answer has max_digits + 1 characters
        self.max_prompt_chars = 2 * max_digits + 2
        self.max_answer_chars = max_digits + 1

    def _operand(self, rng: random.Random) -> int:
        digits = rng.randint(self.min_digits, self.max_digits)
        return rng.randint(0 if digits == 1 else 10 ** (digits - 1), 10**digits - 1)

    def item(self, index: int) -> TaskItem:
        rng = _item_rng("addition", self.seed, _check_index(index))
        a, b = self._operand(rng), self._operand(rng)
        if self.pad:
            d = self.max_digits
            return TaskItem(id=f"addpad{d}-s{self.seed}-i{index}", prompt=f"{a:0{d}d}+{b:0{d}d}=",
                            answer=f"{a + b:0{d + 1}d}", meta={"a": a, "b": b})
        return TaskItem(id=f"add{self.max_digits}-s{self.seed}-i{index}", prompt=f"{a}+{b}=", answer=str(a + b),
                        meta={"a": a, "b": b})

    def verify(self, item: TaskItem, text: str) -> bool:
        return isinstance(text, str) and text.strip() == item.answer


class SplitTask:
    """Write n (min_n..max_n) as a sum of two non-negative integers: prompt ``"n="``, answer ``"a+b"``; every
    split is right. The reference answer of item i is one split drawn uniformly (the pretraining targets)."""

    _ANSWER = re.compile(r"(0|[1-9][0-9]*)\+(0|[1-9][0-9]*)")

    def __init__(self, max_n: int = 99, seed: int = 1, min_n: int = 10):
        if isinstance(max_n, bool) or not isinstance(max_n, int) or not 1 <= max_n <= 10**9:
            raise ValueError(f"max_n must be a positive int, got {max_n!r}")
        if isinstance(min_n, bool) or not isinstance(min_n, int) or not 0 <= min_n <= max_n:
            raise ValueError(f"min_n must be an int in 0..max_n, got {min_n!r}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int, got {type(seed).__name__}")
        self.max_n, self.min_n, self.seed = max_n, min_n, seed
        self.name = f"split:{max_n}"
        self.max_prompt_chars = len(str(max_n)) + 1
        self.max_answer_chars = 2 * len(str(max_n)) + 1

    def item(self, index: int) -> TaskItem:
        rng = _item_rng("split", self.seed, _check_index(index))
        n = rng.randint(self.min_n, self.max_n)
        a = rng.randint(0, n)
        return TaskItem(id=f"split{self.max_n}-s{self.seed}-i{index}", prompt=f"{n}=", answer=f"{a}+{n - a}",
                        meta={"n": n})

    def verify(self, item: TaskItem, text: str) -> bool:
        if not isinstance(text, str):
            return False
        match = self._ANSWER.fullmatch(text.strip())
        n = item.meta.get("n") if item.meta else None
        if n is None:  # a custom item: the total of its reference answer
            ref = self._ANSWER.fullmatch(item.answer.strip())
            n = int(ref.group(1)) + int(ref.group(2)) if ref else None
        return bool(match) and n is not None and int(match.group(1)) + int(match.group(2)) == n


class PermuteTask:
    """Reorder k distinct lowercase letters: prompt ``"dkqa="``, answer any permutation of them (the
    reference answer of item i is one permutation drawn uniformly: the pretraining targets)."""

    LETTERS = "abcdefghijklmnopqrstuvwxyz"

    def __init__(self, max_k: int = 5, seed: int = 1, min_k: int = 3):
        if isinstance(max_k, bool) or not isinstance(max_k, int) or not 2 <= max_k <= 26:
            raise ValueError(f"max_k must be an int in 2..26, got {max_k!r}")
        if isinstance(min_k, bool) or not isinstance(min_k, int) or not 1 <= min_k <= max_k:
            raise ValueError(f"min_k must be an int in 1..max_k, got {min_k!r}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int, got {type(seed).__name__}")
        self.max_k, self.min_k, self.seed = max_k, min_k, seed
        self.name = f"permute:{max_k}"
        self.max_prompt_chars = max_k + 1
        self.max_answer_chars = max_k

    def item(self, index: int) -> TaskItem:
        rng = _item_rng("permute", self.seed, _check_index(index))
        letters = rng.sample(self.LETTERS, rng.randint(self.min_k, self.max_k))
        answer = letters[:]
        rng.shuffle(answer)
        return TaskItem(id=f"permute{self.max_k}-s{self.seed}-i{index}", prompt="".join(letters) + "=",
                        answer="".join(answer), meta={"letters": "".join(letters)})

    def verify(self, item: TaskItem, text: str) -> bool:
        if not isinstance(text, str):
            return False
        letters = (item.meta or {}).get("letters") or item.prompt.rstrip("=")
        return sorted(text.strip()) == sorted(letters) and len(text.strip()) == len(letters)


class MathEasyTask:
    """The Math env's procedural problems of the given levels (default level 1), bare-answer completions."""

    def __init__(self, levels=(1,), seed: int = 1):
        from rlvr_gym.envs.math.procedural import resolve_levels

        self.levels = resolve_levels(levels=levels)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int, got {type(seed).__name__}")
        self.seed = seed
        self.name = "math:" + ",".join(str(lv) for lv in self.levels)
        self.max_prompt_chars = 400
        self.max_answer_chars = 12

    def item(self, index: int) -> TaskItem:
        from rlvr_gym.envs.math.procedural import generate_problem

        p = generate_problem(self.seed, _check_index(index), self.levels)
        return TaskItem(id=p.id, prompt=f"{p.question} Answer:", answer=p.answer,
                        meta={"level": p.level, "topic": p.topic})

    def verify(self, item: TaskItem, text: str) -> bool:
        from rlvr_gym.verifiers.math import compare, parse_number

        if not isinstance(text, str) or not text.strip() or parse_number(text.strip()) is None:
            return False  # not a bare number: wrong, and no need for the math-verify worker
        return compare(item.answer, text.strip())[0]


def make_task(spec: "str | Task" = "addition", seed: int = 1) -> Task:
    """A task from its spec (see TASK_SPECS) or a Task object (returned as is)."""
    if not isinstance(spec, str):
        if isinstance(spec, Task):
            return spec
        raise TypeError(f"task must be a spec string ({TASK_SPECS}) or an object with item() and verify()")
    head, _, rest = spec.strip().partition(":")
    if head in ("addition", "addition-pad"):
        pad = head == "addition-pad"
        if not rest:
            return AdditionTask(seed=seed, pad=pad)
        if not rest.isdigit():
            raise ValueError(f"{head}:<max_digits> needs an integer, got {spec!r}")
        return AdditionTask(max_digits=int(rest), seed=seed, pad=pad)
    if head == "permute":
        if rest and not rest.isdigit():
            raise ValueError(f"permute:<max_k> needs an integer, got {spec!r}")
        return PermuteTask(max_k=int(rest), seed=seed) if rest else PermuteTask(seed=seed)
    if head == "split":
        if rest and not rest.isdigit():
            raise ValueError(f"split:<max_n> needs an integer, got {spec!r}")
        return SplitTask(max_n=int(rest), seed=seed) if rest else SplitTask(seed=seed)
    if head == "math-easy" and not rest:
        return MathEasyTask(levels=(1,), seed=seed)
    if head == "math":
        try:
            levels = [int(x) for x in rest.split(",")] if rest else [1]
        except ValueError:
            raise ValueError(f"math:<levels> needs comma-separated integers, got {spec!r}") from None
        return MathEasyTask(levels=levels, seed=seed)
    raise ValueError(f"unknown task {spec!r}; expected {TASK_SPECS}")
