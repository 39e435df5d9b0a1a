"""TextEnv: the base class of the text environments, and the rule that each env owns its reward.

The reward of a text env is a function of the response text and a few *reward columns* that the env declares
from its reset info (the gold answer of a math problem; the solution and admissible answers of a Temporal Clue
puzzle). Every consumer grades by calling the env, so there is one reward path:

    prompt, info = env.reset(seed=s)
    columns = env.unwrapped.reward_columns(info)            # str values, e.g. {"answer": "42", "item": "7"}
    graded = env.unwrapped.grade_text(response, **columns)  # Graded(reward, info)

- ``step(response)`` is ``grade_text(response, **reward_columns(reset info))`` plus the checks on the action's
  type (a non-text action is not graded: reward 0 and ``info["error"]``);
- the GRPO trainer stores the columns in every dataset row and its reward function calls ``grade_text``
  (agents/grpo/data.py ``EnvReward``);
- the evaluation harness steps the env (agents/evaluation/harness.py);
- dataset exports carry the columns, so an outside engine can call ``grade_text`` later.

Columns are strings (JSON text for structured values) so that they fit any dataset column and survive a file.
``tests/test_reward_parity.py`` checks, for every registered text env id, that the training reward equals the
step reward on the same responses.

Multi-turn text envs (``multi_turn = True``, e.g. TemporalClue-Feedback-v0) also grade one response with
``grade_text``; their episode reward comes from stepping the env, and trainers roll them out by stepping it
(agents/grpo/multi_turn.py), with the next user message in ``info["feedback"]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import gymnasium as gym

__all__ = ["Graded", "TextEnv", "as_text_action", "reset_options", "in_charset"]


@dataclass(frozen=True)
class Graded:
    """The grade of one response: the reward, and the details ``step`` reports in its info dict."""

    reward: float
    info: dict[str, Any] = field(default_factory=dict)


class TextEnv(gym.Env[str, str]):
    """A Gymnasium env whose actions are response texts and whose reward is ``grade_text`` (module docstring).

    Subclasses set ``reward_column_names`` and implement ``reward_columns`` and ``grade_text``."""

    #: the keys of ``reward_columns(info)``, in a fixed order (dataset columns of the trainer and exports)
    reward_column_names: ClassVar[tuple[str, ...]] = ()
    #: True when an episode may take several responses (the next user message is ``info["feedback"]``)
    multi_turn: ClassVar[bool] = False

    def reward_columns(self, info: dict) -> dict[str, str]:
        """What ``grade_text`` needs besides the response, read from a reset info (str values)."""
        raise NotImplementedError

    def grade_text(self, text: str, **columns: str) -> Graded:
        """The grade of one response text given the reward columns of its episode."""
        raise NotImplementedError


def as_text_action(action: Any, *, decode_bytes: bool = True) -> tuple[str, str | None]:
    """``(response text, None)``, or ``("", why the action is not a response)``. UTF-8 bytes are decoded (invalid
    bytes replaced) when ``decode_bytes``; anything else (None, numbers, lists) is not a response."""
    if isinstance(action, str):
        return action, None
    if decode_bytes and isinstance(action, (bytes, bytearray)):
        return bytes(action).decode("utf-8", errors="replace"), None
    kind = "None" if action is None else type(action).__name__
    expected = "text (str or UTF-8 bytes)" if decode_bytes else "a str"
    return "", f"not a response: the action must be {expected}, got {kind}"


def reset_options(options: Any, allowed: tuple[str, ...] | None = None) -> dict:
    """A copy of ``reset(options=...)`` as a dict ({} for None): every env of the package checks its options here,
    so a wrong type gets the same TypeError everywhere and an unknown key (when ``allowed`` is given) a ValueError
    that lists the valid ones."""
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise TypeError(f"options must be a dict, got {type(options).__name__}")
    if allowed is not None:
        unknown = sorted(set(options) - set(allowed), key=str)
        if unknown:
            raise ValueError(f"unknown reset options {unknown}; expected any of {list(allowed)}")
    return dict(options)


def in_charset(text: str, charset: str | frozenset, replacement: str = "") -> str:
    """``text`` with every character outside ``charset`` replaced (dropped by default): for echoing what an agent
    wrote back into an observation that must stay inside a ``Text`` space."""
    allowed = charset if isinstance(charset, frozenset) else frozenset(charset)
    if all(ch in allowed for ch in text):
        return text
    return "".join(ch if ch in allowed else replacement for ch in text)
