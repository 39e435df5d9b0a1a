"""TemporalClue-Feedback-v0: a Temporal Clue mystery answered in up to K attempts, with feedback after each
(see the class docstring).

    env = gymnasium.make("TemporalClue-Feedback-v0", max_attempts=3, discount=0.7)    # easy puzzles by default
    prompt, info = env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step("A. Mrs. White\\nB. Rope\\n...")
    # not all right and attempts left: terminated=False, reward 0, info["feedback"] = "3 of 8 answers are right ..."
"""

from __future__ import annotations

from typing import Any

from gymnasium import spaces
from gymnasium.error import ResetNeeded

from rlvr_gym.envs.temporal_clue.env import CHARSET, MAX_PROMPT_CHARS, TemporalClueEnv
from rlvr_gym.envs.text_env import Graded, TextEnv, as_text_action, in_charset

__all__ = ["TemporalClueFeedbackEnv", "feedback_message", "attempts_note", "sheet_excerpt"]

SHEET_EXCERPT_CHARS = 4000      # an answer sheet is a few lines; longer replies are shown by their end
_CHARSET = frozenset(CHARSET)


def sheet_excerpt(sheet: str, limit: int = SHEET_EXCERPT_CHARS) -> str:
    """A previous answer sheet as the observation shows it: characters outside the observation's charset (NUL,
    control characters, the replacement character of undecodable bytes, ...) dropped, and a sheet longer than
    ``limit`` characters cut to its end (where the answer lines are) with a note of what was left out."""
    text = in_charset(sheet, _CHARSET).strip()
    if len(text) <= limit:
        return text
    note = f"[... {len(text) - limit} earlier characters not shown ...]\n"
    return note + text[len(text) - limit:]


def attempts_note(max_attempts: int) -> str:
    """The sentence added to the puzzle prompt."""
    return (f"You may submit up to {max_attempts} answer sheets. After each sheet you will be told how many of "
            "your answers are right, but not which ones. Solving it with fewer sheets scores higher.")


def feedback_message(right: int, total: int, remaining: int) -> str:
    """The feedback after a sheet that was not all right."""
    sheets = "sheet" if remaining == 1 else "sheets"
    return (f"{right} of {total} answers are right. You have {remaining} more answer {sheets}. "
            "Write a corrected answer sheet.")


class TemporalClueFeedbackEnv(TextEnv):
    """A Temporal Clue mystery answered in up to ``max_attempts`` answer sheets, told after each how many are right.

    ## Description
    The puzzle of TemporalClueEnv (``preset``, ``players``, ``config``, ``puzzles``, ``grading`` pass through;
    easy by default) with a note on the attempts. After each sheet the agent learns HOW MANY answers are right,
    never which. A multi-turn text env (``multi_turn = True``): trainers roll it out by stepping it
    (agents/grpo/multi_turn.py) with ``info["feedback"]`` as the next user turn.

    ## Action Space
    ``Text``: an answer sheet, as TemporalClueEnv's. Non-text actions count as a sheet with nothing right.

    ## Observation Space
    ``Text``: self-contained, so a stateless agent and the evaluation harness can play: the puzzle, the previous
    sheets with their scores, and the request for the next sheet; "" at the end. A previous sheet is shown without
    characters outside the charset and, when longer than 4000 characters, by its end (``sheet_excerpt``), so an
    observation always lies in the space whatever the agent wrote.

    ## Rewards
    The final step's reward is ``episode_reward`` = ``discount ** (attempt - 1)`` times the fraction right on the
    last sheet (earlier steps give 0): solving it at the first attempt pays most. ``grade_text`` grades one sheet
    alone (TemporalClueEnv's grade: the reward of a sheet given at the first attempt).

    ## Episode End
    Terminated when every answer is right or after ``max_attempts`` sheets; never truncated.

    ## Information
    reset: TemporalClueEnv's plus max_attempts. step: puzzle_id, difficulty, solution, total, attempt, right,
    correct (letter -> bool, for logging; the observation only says how many), extracted, format_ok, feedback
    (the message alone, for chat agents), and error when the action was not graded.

    ## Version History
    - v0: the initial version; rewards through ``grade_text`` and ``episode_reward``.
    """

    multi_turn = True
    inner_env_classes = (TemporalClueEnv,)   # options it passes on (envs/registration.py env_options)

    metadata = {"render_modes": ["ansi"], "render_fps": 1}

    def __init__(self, max_attempts: int = 3, discount: float = 0.7, preset: str | None = "easy",
                 render_mode: str | None = None, **puzzle_kwargs: Any):
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
            raise ValueError(f"max_attempts must be a positive int, got {max_attempts!r}")
        if isinstance(discount, bool) or not isinstance(discount, (int, float)) or not 0 < discount <= 1:
            raise ValueError(f"discount must be a number in (0, 1], got {discount!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        if puzzle_kwargs.get("players") is not None or puzzle_kwargs.get("config") is not None:
            preset = None
        self.inner = TemporalClueEnv(preset=preset, **puzzle_kwargs)
        self.max_attempts = max_attempts
        self.discount = float(discount)
        self.render_mode = render_mode
        self.grading = self.inner.grading
        self.observation_space = spaces.Text(max_length=MAX_PROMPT_CHARS, min_length=0, charset=CHARSET)
        self.action_space = spaces.Text(max_length=self.inner.max_response_chars, min_length=0, charset=CHARSET)
        self._puzzle = None
        self._prompt = ""
        self._history: list[tuple[str, int]] = []
        self._columns: dict[str, str] = {}
        self._done = True

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        prompt, info = self.inner.reset(seed=seed, options=options)
        self._puzzle = info["puzzle"]
        self._prompt = f"{prompt}\n\n{attempts_note(self.max_attempts)}"
        self._history = []
        self._done = False
        self._columns = self.inner.reward_columns(info)
        info = dict(info, max_attempts=self.max_attempts)
        return self._prompt, info

    def _observation(self) -> str:
        parts = [self._prompt]
        total = len(self._puzzle.questions)
        # Every sheet gets an equal share of what the observation space leaves after the prompt.
        room = (MAX_PROMPT_CHARS - len(self._prompt) - 200 * (self.max_attempts + 1)) // self.max_attempts
        limit = max(0, min(SHEET_EXCERPT_CHARS, room))
        for k, (sheet, right) in enumerate(self._history, start=1):
            parts.append(f"--- your answer sheet {k} ---\n{sheet_excerpt(sheet, limit)}\n"
                         f"--- {right} of {total} answers right ---")
        remaining = self.max_attempts - len(self._history)
        parts.append(f"Write answer sheet {len(self._history) + 1} of {self.max_attempts} "
                     f"({remaining} left).")
        return "\n\n".join(parts)

    def step(self, action: Any):
        if self._puzzle is None:
            raise ResetNeeded("call reset() before step()")
        if self._done:
            raise ResetNeeded("this episode is over: call reset() for the next puzzle")
        response, error = as_text_action(action)
        solution = dict(self._puzzle.solution)
        total = len(solution)
        info: dict[str, Any] = {"puzzle_id": self._puzzle.id, "difficulty": self._puzzle.difficulty,
                                "solution": solution, "total": total}
        if error is None:
            graded = self.grade_text(response, **self._columns).info
            error = graded.get("error")
        if error is not None:
            correct = {letter: False for letter in solution}
            info.update(error=error, format_ok=False)
        else:
            correct = graded["correct"]
            info.update(format_ok=graded["format_ok"], extracted=graded["extracted"])
        right = sum(correct.values())
        self._history.append((response, right))
        attempt = len(self._history)
        info.update(attempt=attempt, right=right, correct=correct)
        if right == total or attempt >= self.max_attempts:
            self._done = True
            info["feedback"] = f"{right} of {total} answers are right."
            return "", self.episode_reward(right, total, attempt), True, False, info
        info["feedback"] = feedback_message(right, total, self.max_attempts - attempt)
        return self._observation(), 0.0, False, False, info

    # ---------------------------------------------------------------- reward
    reward_column_names = TemporalClueEnv.reward_column_names

    def reward_columns(self, info: dict) -> dict[str, str]:
        """As TemporalClueEnv's: the solution and admissible answers, as JSON text."""
        return self.inner.reward_columns(info)

    def grade_text(self, text: str, solution: str, candidates: str = "") -> Graded:
        """One answer sheet graded alone (TemporalClueEnv.grade_text): the reward of a sheet right at the first
        attempt. The episode's reward comes from stepping (``episode_reward``)."""
        return self.inner.grade_text(text, solution, candidates)

    def episode_reward(self, right: int, total: int, attempt: int) -> float:
        """The final step's reward: ``discount ** (attempt - 1)`` times the fraction right on the last sheet."""
        return float(self.discount ** (attempt - 1) * right / total)

    def render(self):
        if self.render_mode != "ansi" or self._puzzle is None:
            return None
        return self._observation() if not self._done else self._prompt
