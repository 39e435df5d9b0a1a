"""TemporalClueEnv: one Temporal Clue mystery per episode, answered in one step (see the class docstring).

    env = gymnasium.make("TemporalClue-v0", players=3)        # or TemporalClue-Easy-v0 ... -Expert-v0
    prompt, info = env.reset(seed=0)                          # info["candidates"], info["puzzle"], ...
    _, reward, terminated, truncated, info = env.step("A. Mrs. White\\nB. Rope\\n...")
"""

from __future__ import annotations

import json
import numbers
import string
from collections import OrderedDict
from pathlib import Path
from typing import Any

from gymnasium import spaces
from gymnasium.error import ResetNeeded

from rlvr_gym.envs.text_env import Graded, TextEnv, as_text_action, reset_options


def _char_range(first: int, last: int) -> str:
    return "".join(chr(c) for c in range(first, last + 1))


# Every character a prompt may contain, and what a response may be sampled from: printable ASCII, the
# printable Latin-1 supplement, general punctuation (bullets, dashes, typographic quotes), arrows, box
# drawing, block elements and geometric shapes (boards and notepads are drawn with these).
CHARSET: str = "".join(
    dict.fromkeys(
        string.printable
        + _char_range(0xA0, 0xFF)
        + _char_range(0x2010, 0x2027)
        + _char_range(0x2030, 0x205E)
        + _char_range(0x2190, 0x21FF)
        + _char_range(0x2500, 0x25FF)
        + "✓✔✗✘★☆"
    )
)
MAX_PROMPT_CHARS = 1_000_000
DEFAULT_MAX_RESPONSE_CHARS = 100_000
GRADING_MODES = ("strict", "legacy")
RESET_OPTIONS = ("index", "puzzle")


class PuzzleFile:
    """The puzzles of one file, parsed on first use (an original-release file holds ~1000 prompts).

    Records with a "setting" key are our Puzzle dicts; records with "prompt" and "solution" are the
    original release's; anything else is rejected with the file and record number.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"puzzles file not found: {self.path}")
        self.records = _read_records(self.path)
        if not self.records:
            raise ValueError(f"puzzles file {self.path} holds no puzzles")
        for i, record in enumerate(self.records):
            if not isinstance(record, dict) or not (
                "setting" in record or ("prompt" in record and "solution" in record)
            ):
                raise ValueError(
                    f"puzzles file {self.path}, record {i}: expected a Puzzle dict (with 'setting') or an "
                    f"original-release record {{num_clues, prompt, solution}}"
                )
        self._parsed: dict[int, Any] = {}

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int):
        if index not in self._parsed:
            record = self.records[index]
            if "setting" in record:
                from rlvr_gym.envs.temporal_clue.puzzle import Puzzle

                puzzle = Puzzle.from_dict(record)
            else:
                from rlvr_gym.envs.temporal_clue.original import parse_original_record

                puzzle = parse_original_record(record, id=f"original-{self.path.stem}-{index}")
            self._parsed[index] = puzzle
        return self._parsed[index]


def _read_records(path: Path) -> list:
    text = path.read_text(encoding="utf-8")
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            records = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"puzzles file {path} is not valid JSON: {exc}") from None
        return list(records)
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise ValueError(f"puzzles file {path}, line {number}: not a JSON object ({exc})") from None
    return records


class TemporalClueEnv(TextEnv):
    """A Temporal Clue mystery (who, with what, where, when and why) as a one-step text environment.

    ## Description
    Mr. Boddy was murdered at Tudor Mansion. The prompt gives the suspects, weapons, rooms on a board, times and
    motives, the rules of the night, numbered clues (a subset-minimal set whose world CP-SAT proves unique) and
    lettered questions; the agent answers with an answer sheet, one ``LETTER. ANSWER`` line per question.

    Where puzzles come from (arguments): generated from ``preset`` (easy | medium | hard | expert), ``players``
    (1-6, the original's size distribution) or ``config`` (a dict or TemporalClueConfig); TemporalClue-v0 plays
    "medium" when none is given. Or ``puzzles=PATH``: our JSONL (one Puzzle dict per line) or the original
    release's records ``{num_clues, prompt, solution}``; a file decides the puzzles and preset/players/config are
    ignored.

    ## Action Space
    ``Text(max_length=max_response_chars, charset=CHARSET)``: the response. ``bytes`` are decoded as UTF-8 (invalid
    bytes replaced). Anything else (None, numbers, lists) and a response longer than ``max_response_chars`` are not
    graded: reward 0 and ``info["error"]`` says why (truncating could change which answer line counts).

    ## Observation Space
    ``Text(max_length=1_000_000, charset=CHARSET)``: the prompt at reset; "" after the step.

    ## Rewards
    ``grade_text``: the fraction of lettered questions answered correctly (verifiers.temporal_clue.grade in mode
    ``grading``: "strict", or "legacy" = the original's regex grader), plus ``format_reward`` x the share of
    answer lines that name exactly one admissible answer, right or wrong, bare or in a sentence
    (verifiers.temporal_clue.answer_form_share; default 0: off; a training aid for models that do not yet write
    an answer sheet; with format_reward=w the reward lies in [0, 1 + w] and ``info["answer_form"]`` holds the
    share; the eval harness still counts a sheet solved only when every answer is right, while the GRPO trainer's
    ``accuracy`` metric, reward >= 1, then also counts partly right sheets). Reward columns: ``solution`` and
    ``candidates`` (JSON text), from ``reward_columns(reset info)``.

    ## Starting State
    ``reset(seed=s)`` seeds ``self.np_random`` and every random choice is drawn from it: the same seed gives the
    same puzzle in any process. ``options={"index": i}`` picks puzzle i of the file, or item i of the generated
    sequence with seed = the reset seed (else ``base_seed``), the puzzle ``rlvr generate -n N --seed s`` writes
    on line i; ``options={"puzzle": p}`` plays a given Puzzle (or Puzzle dict).

    ## Episode End
    After one step: terminated=True, truncated=False. The ids are registered without max_episode_steps (a
    TimeLimit of 1 would also report truncated=True).

    ## Information
    reset: puzzle_id, difficulty, questions (list of {letter, text, answer_type}), letters, candidates (letter ->
    admissible answers), puzzle (the Puzzle: for oracles and trainers, not for a policy), index (file or sequence
    index, or None), puzzle_seed (generated puzzles, else None). step: puzzle_id, difficulty, letters, solution,
    correct, extracted, reasons, format_ok, and error (only when the response was not graded).

    ## Version History
    - v0: the initial version; the reward goes through ``grade_text`` (one path for step, trainers and exports).
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 1}

    def __init__(
        self,
        preset: str | None = None,
        players: int | None = None,
        config: Any = None,
        puzzles: str | Path | None = None,
        grading: str = "strict",
        max_response_chars: int = DEFAULT_MAX_RESPONSE_CHARS,
        base_seed: int = 0,
        render_mode: str | None = None,
        cache_size: int = 64,
        format_reward: float = 0.0,
    ):
        if grading not in GRADING_MODES:
            raise ValueError(f"grading must be one of {GRADING_MODES}, got {grading!r}")
        if isinstance(format_reward, bool) or not isinstance(format_reward, (int, float)) \
                or not 0.0 <= format_reward <= 1.0:
            raise ValueError(f"format_reward must be a number in 0..1, got {format_reward!r}")
        self.format_reward = float(format_reward)
        if isinstance(max_response_chars, bool) or not isinstance(max_response_chars, int) or max_response_chars < 1:
            raise ValueError(f"max_response_chars must be a positive int, got {max_response_chars!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or one of {self.metadata['render_modes']}, got {render_mode!r}")
        if isinstance(base_seed, bool) or not isinstance(base_seed, int):
            raise ValueError(f"base_seed must be an int, got {base_seed!r}")
        self.grading = grading
        self.max_response_chars = max_response_chars
        self.base_seed = base_seed
        self.render_mode = render_mode

        if puzzles is not None:
            self.puzzle_file: PuzzleFile | None = PuzzleFile(puzzles)
            self.config = None
        else:
            from rlvr_gym.envs.temporal_clue.config import resolve_config

            self.puzzle_file = None
            if preset is None and players is None and config is None:
                preset = "medium"
            self.config = resolve_config(preset=preset, players=players, config=config)

        self.observation_space = spaces.Text(max_length=MAX_PROMPT_CHARS, min_length=0, charset=CHARSET)
        self.action_space = spaces.Text(max_length=max_response_chars, min_length=0, charset=CHARSET)

        self._cache: OrderedDict[tuple, Any] = OrderedDict()  # (puzzle seed, id) -> Puzzle (GRPO groups repeat seeds)
        self._cache_size = cache_size
        self._puzzle = None
        self._done = False
        self._last_response: str | None = None
        self._last_info: dict | None = None
        self._columns: dict[str, str] = {}

    # ---------------------------------------------------------------- puzzles
    @property
    def num_items(self) -> int | None:
        """How many fixed puzzles this env plays (a puzzles file), or None when it generates them."""
        return None if self.puzzle_file is None else len(self.puzzle_file)

    def generated_puzzle(self, puzzle_seed: int, id: str | None = None):
        """The puzzle generate_puzzle(self.config, puzzle_seed, id), from a small cache."""
        key = (puzzle_seed, id)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        from rlvr_gym.envs.temporal_clue.generator import generate_puzzle

        puzzle = generate_puzzle(self.config, puzzle_seed, id=id)
        self._cache[key] = puzzle
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return puzzle

    # ---------------------------------------------------------------- gym API
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        options = reset_options(options, RESET_OPTIONS)

        index: int | None = None
        puzzle_seed: int | None = None
        if options.get("puzzle") is not None:
            puzzle = _as_puzzle(options["puzzle"])
        elif self.puzzle_file is not None:
            if options.get("index") is not None:
                index = _check_index(options["index"], len(self.puzzle_file))
            else:
                index = int(self.np_random.integers(len(self.puzzle_file)))
            puzzle = self.puzzle_file[index]
        else:
            if options.get("index") is not None:
                from rlvr_gym.envs.temporal_clue.generator import puzzle_seed as sequence_seed, sequence_id

                index = _check_index(options["index"], None)
                start = self.base_seed if seed is None else seed
                puzzle_seed = sequence_seed(start, index)
                puzzle = self.generated_puzzle(puzzle_seed, sequence_id(self.config, start, index))
            else:
                puzzle_seed = int(self.np_random.integers(2**62))
                puzzle = self.generated_puzzle(puzzle_seed)

        self._puzzle = puzzle
        self._done = False
        self._last_response = None
        self._last_info = None
        info = {
            "puzzle_id": puzzle.id,
            "difficulty": puzzle.difficulty,
            "questions": [
                {"letter": q.letter, "text": q.text, "answer_type": q.answer_type} for q in puzzle.questions
            ],
            "letters": [q.letter for q in puzzle.questions],
            "candidates": {letter: list(names) for letter, names in puzzle.candidates().items()},
            "puzzle": puzzle,
            "index": index,
            "puzzle_seed": puzzle_seed,
        }
        self._columns = self.reward_columns(info)
        return puzzle.prompt, info

    def step(self, action: str):
        if self._puzzle is None:
            raise ResetNeeded("call reset() before step(): there is no puzzle to answer yet")
        if self._done:
            raise ResetNeeded("this episode is over (one answer per puzzle): call reset() for the next puzzle")
        response, reason = as_text_action(action)
        puzzle = self._puzzle
        info: dict[str, Any] = {"puzzle_id": puzzle.id, "difficulty": puzzle.difficulty,
                                "letters": [q.letter for q in puzzle.questions]}
        if reason is not None:
            reward, graded = 0.0, _ungraded(dict(puzzle.solution), reason)
        else:
            result = self.grade_text(response, **self._columns)
            reward, graded = result.reward, result.info
        info.update(graded)
        self._done = True
        self._last_response = response
        self._last_info = info
        return "", reward, True, False, info

    # ---------------------------------------------------------------- reward
    reward_column_names = ("solution", "candidates")

    def reward_columns(self, info: dict) -> dict[str, str]:
        """{"solution": letter -> answer, "candidates": letter -> admissible answers}, as JSON text."""
        return {"solution": json.dumps(dict(info["puzzle"].solution), ensure_ascii=False),
                "candidates": json.dumps(info["candidates"], ensure_ascii=False)}

    def grade_text(self, text: str, solution: str, candidates: str = "") -> Graded:
        """The fraction of lettered questions `text` answers correctly (verifiers.temporal_clue.grade in mode
        ``grading``), plus ``format_reward`` x the answer-form share when format_reward > 0. A response longer than
        ``max_response_chars`` is not graded (reward 0, info["error"])."""
        sol = json.loads(solution) if isinstance(solution, str) else dict(solution)
        if len(text) > self.max_response_chars:
            reason = f"response too long: {len(text)} characters > max_response_chars={self.max_response_chars}"
            return Graded(0.0, _ungraded(sol, reason))
        from rlvr_gym.verifiers.temporal_clue import grade

        cands = (json.loads(candidates) if candidates else None) if isinstance(candidates, str) else candidates
        result = grade(text, sol, candidates=cands, mode=self.grading)
        info = {"solution": sol, "correct": dict(result.correct), "extracted": dict(result.extracted),
                "reasons": dict(result.reasons), "format_ok": bool(result.format_ok)}
        reward = float(result.reward)
        if self.format_reward:
            if not cands:
                raise ValueError("format_reward needs the candidates column (reward_columns gives it)")
            from rlvr_gym.verifiers.temporal_clue import answer_form_share

            info["answer_form"] = answer_form_share(result.extracted, cands)
            reward += self.format_reward * info["answer_form"]
        return Graded(reward, info)

    def render(self):
        if self.render_mode != "ansi" or self._puzzle is None:
            return None
        text = self._puzzle.prompt
        if self._last_info is not None:
            info = self._last_info
            lines = []
            for letter in info["letters"]:
                verdict = "right" if info["correct"].get(letter) else "wrong"
                lines.append(f"{letter}. {info['extracted'].get(letter)!s:<20} {verdict}"
                             f" (answer: {info['solution'].get(letter)})")
            text += "\n\n--- response ---\n" + (self._last_response or "") + "\n\n--- graded ---\n" + "\n".join(lines)
        return text


def _ungraded(solution: dict, reason: str) -> dict:
    """The step info of a response that was not graded (not text, or too long)."""
    return {"solution": solution, "correct": {letter: False for letter in solution},
            "extracted": {letter: None for letter in solution}, "reasons": {letter: reason for letter in solution},
            "format_ok": False, "error": reason}


def _check_index(index: Any, size: int | None) -> int:
    if isinstance(index, bool) or not isinstance(index, numbers.Integral) or index < 0:
        raise ValueError(f"options['index'] must be a non-negative int, got {index!r}")
    index = int(index)
    if size is not None and index >= size:
        raise ValueError(f"options['index']={index} is out of range: the puzzles file holds {size} puzzles")
    return index


def _as_puzzle(value: Any):
    from rlvr_gym.envs.temporal_clue.puzzle import Puzzle

    if isinstance(value, Puzzle):
        return value
    if isinstance(value, dict):
        return Puzzle.from_dict(value)
    raise TypeError(f"options['puzzle'] must be a Puzzle or a Puzzle dict, got {type(value).__name__}")
