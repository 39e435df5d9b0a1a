"""MathEnv: one math problem per episode, answered in one step (see the class docstring).

    env = gymnasium.make("Math-v0", levels=[1, 2, 3])   # or source="path/to/gsm8k.jsonl", "hf:openai/gsm8k", ...
    problem, info = env.reset(seed=0)
    _, reward, terminated, truncated, info = env.step("... so the answer is \\boxed{42}")
"""

from __future__ import annotations

import os
import string
from typing import Any, Sequence

from gymnasium import spaces

from rlvr_gym.envs.math.datasets import MathItem, load_items
from rlvr_gym.envs.math.procedural import LEVEL_NAMES, SPLITS, generate_problem, resolve_levels
from rlvr_gym.envs.text_env import Graded, TextEnv, as_text_action, reset_options

__all__ = ["MathEnv", "DEFAULT_INSTRUCTION", "build_prompt"]

DEFAULT_INSTRUCTION = (
    "Work through the problem step by step. When you are done, write the final answer alone inside "
    "\\boxed{}, for example \\boxed{42} or \\boxed{\\frac{3}{4}}."
)
BASE_CHARSET = string.printable            # letters, digits, punctuation, space, \t \n \r \x0b \x0c
MAX_ACTION_CHARS = 65_536
PROCEDURAL_INDEX_RANGE = 2**31
RESET_OPTIONS = ("index",)


def build_prompt(question: str, instruction: str | None = DEFAULT_INSTRUCTION) -> str:
    """The observation text: the problem, a blank line, the answer-format instruction."""
    return f"{question}\n\n{instruction}" if instruction else question


class MathEnv(TextEnv):
    """One math problem per episode with a verifiable final answer.

    ## Description
    Sources (``source=``):
    - ``"procedural"`` (default): the built-in generator (procedural.py), ``level=k`` or ``levels=[...]`` (default
      1..10; the warm-up level 0 on request); item i of the sequence ``seed`` is the same everywhere.
      ``split="train"|"test"`` keeps to one of two disjoint sets of question texts (20% test, by a hash of the
      text): train on one and evaluate on the other and no held-out question was trained on. ``limit=n`` keeps
      items 0..n-1 of the sequence (a fixed set of n problems, as for datasets).
    - a dataset: a ``.jsonl`` / ``.json`` / ``.parquet`` path, ``"hf:<name>"`` / ``"<owner>/<name>"`` (Hugging
      Face, with ``split=``, ``config=``), or a list of records; column conventions in datasets.py, explicit
      ``question_field=`` / ``answer_field=`` / ``difficulty_field=`` for anything else; ``limit=`` keeps the first
      n records.
    - ``"reasoning_gym:<task>"``: a reasoning-gym task (optional package), ``size=`` items generated with
      ``seed``, task options in ``rg_config=``.

    ## Action Space
    ``Text(max_length=65536, charset=string.printable)``: the worked answer. A non-str action (None, bytes,
    numbers) is not graded: reward 0, ``info["error"]`` and ``info["reason"]`` say why.

    ## Observation Space
    ``Text``: the problem, a blank line, the answer-format instruction (``instruction=``; asks for \\boxed{}); ""
    after the step. The charset and length are those of the source's questions.

    ## Rewards
    ``grade_text``: 1.0 if the final answer equals the gold answer (verifiers.math.grade: last \\boxed{},
    <answer>, ####, answer phrases; hedges get nothing; math-verify equivalence with a timeout), else 0.0, plus
    ``format_reward * format_ok`` when ``format_reward`` > 0 (so with format_reward=w the reward lies in {0, w, 1,
    1+w}; ``info["correct"]`` is always the plain correctness). ``last_number=True`` grades a reply with no answer
    form by its last number (lenient, for small models that do not box answers; off by default). A reasoning-gym
    source also accepts what the task's own ``score_answer`` gives full marks. Reward columns: ``answer`` (the
    gold) and ``item`` (the item index), from ``reward_columns(reset info)``.

    ## Starting State
    ``reset(seed=s)`` draws the item index from ``self.np_random``; ``options={"index": i}`` selects item i.

    ## Episode End
    After one step: terminated=True, truncated=False.

    ## Information
    reset: problem_id, index, difficulty, level (procedural, else None), level_name (procedural), topic, source,
    answer (the gold: for oracles, trainers and logging; do not show it to a policy), solution (a worked solution
    or None). step: extracted, gold, correct, reason, format_ok, difficulty, problem_id, and error for a non-text
    action.

    ## Version History
    - v0: the initial version; the reward goes through ``grade_text`` (one path for step, trainers and exports;
      the trainer now also applies the reasoning-gym scorer, as step always did).
    """

    metadata = {"render_modes": ["ansi"]}

    def __init__(self, source: str | os.PathLike | Sequence[dict] = "procedural", *, level: int | None = None,
                 levels: Sequence[int] | None = None, seed: int = 0, split: str | None = None,
                 config: str | None = None, question_field: str | None = None, answer_field: str | None = None,
                 difficulty_field: str | None = None, limit: int | None = None, format_reward: float = 0.0,
                 instruction: str | None = DEFAULT_INSTRUCTION, timeout: float = 5.0,
                 starts_in_thinking: bool = False, last_number: bool = False, size: int = 1000, rg_config: dict | None = None,
                 render_mode: str | None = None):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        if isinstance(format_reward, bool) or not isinstance(format_reward, (int, float)) or format_reward < 0:
            raise ValueError(f"format_reward must be a number >= 0, got {format_reward!r}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int, got {type(seed).__name__}")
        if instruction is not None and not isinstance(instruction, str):
            raise TypeError("instruction must be a str or None")
        self.render_mode = render_mode
        self.format_reward = float(format_reward)
        self.instruction = instruction
        self.timeout = float(timeout)
        self.starts_in_thinking = bool(starts_in_thinking)
        if not isinstance(last_number, bool):
            raise TypeError(f"last_number must be True or False, got {last_number!r}")
        self.last_number = last_number
        self.sequence_seed = seed
        self.levels: tuple[int, ...] | None = None
        self._items: list[MathItem] | None = None
        self._rg = None            # (reasoning-gym dataset, entries) for source="reasoning_gym:<task>"

        self.split = None
        self._procedural_size = PROCEDURAL_INDEX_RANGE
        if isinstance(source, str) and source == "procedural":
            self.source = "procedural"
            if limit is not None:
                if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= PROCEDURAL_INDEX_RANGE:
                    raise ValueError(f"limit must be a positive int, got {limit!r}")
                self._procedural_size = limit
            self.levels = resolve_levels(level, levels)
            if split is not None and split not in SPLITS:
                raise ValueError(f"split for procedural problems must be 'train' or 'test', got {split!r}")
            self.split = split
        else:
            if level is not None or levels is not None:
                raise ValueError("level=/levels= apply to source='procedural' only; use limit= or a filtered file "
                                 "for datasets")
            if isinstance(source, str) and source.startswith("reasoning_gym:"):
                self.source = source
                self._items, self._rg = self._load_reasoning_gym(source.split(":", 1)[1], size, seed, rg_config)
            else:
                self._items = load_items(source, split=split, config=config, question_field=question_field,
                                         answer_field=answer_field, difficulty_field=difficulty_field, limit=limit)
                self.source = os.fspath(source) if isinstance(source, (str, os.PathLike)) else "records"

        if self._items is None:
            charset = BASE_CHARSET + "".join(sorted(set(instruction or "") - set(BASE_CHARSET)))
            max_len = 4096 + len(instruction or "")
        else:
            chars = set(BASE_CHARSET)
            for item in self._items:
                chars.update(item.question)
            chars.update(instruction or "")
            charset = "".join(sorted(chars))
            max_len = max(len(build_prompt(i.question, instruction)) for i in self._items)
        self.observation_space = spaces.Text(max_length=max_len, min_length=0, charset=charset)
        self.action_space = spaces.Text(max_length=MAX_ACTION_CHARS, min_length=0, charset=BASE_CHARSET)
        self._current: dict | None = None
        self._columns: dict[str, str] = {}
        self._prompt = ""
        self._done = True

    # ------------------------------------------------------------------------------------------ sources

    @staticmethod
    def _load_reasoning_gym(task: str, size: int, seed: int, rg_config: dict | None) -> tuple[list[MathItem], tuple]:
        try:
            import reasoning_gym
        except ImportError:
            raise ImportError("source='reasoning_gym:<task>' needs the optional package reasoning-gym: "
                              "pip install reasoning-gym") from None
        if not task:
            raise ValueError("source must name a task, e.g. 'reasoning_gym:basic_arithmetic'")
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"size must be a positive int, got {size!r}")
        try:
            dataset = reasoning_gym.create_dataset(task, size=size, seed=seed, **(rg_config or {}))
        except Exception as exc:  # noqa: BLE001 - unknown task or bad config: say which
            raise ValueError(f"reasoning-gym could not create task {task!r}: {exc}") from None
        entries = [dataset[i] for i in range(size)]
        items = []
        for i, entry in enumerate(entries):
            meta = entry.get("metadata") or {}
            diff = meta.get("difficulty")
            label = task if not isinstance(diff, (int, float, str)) else f"{task}-{diff}"
            items.append(MathItem(id=f"rg-{task}-s{seed}-{i}", question=str(entry["question"]),
                                  answer=str(entry["answer"]), difficulty=label, source=f"reasoning_gym:{task}",
                                  meta={"rg_index": i}))
        return items, (dataset, entries)

    def __len__(self) -> int:
        """Number of items (datasets); the procedural sequence reports 2**31 addressable items, or ``limit``."""
        return self._procedural_size if self._items is None else len(self._items)

    def item(self, index: int) -> dict:
        """Item `index` as a dict: id, question, answer, difficulty, level, topic, solution, source."""
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(self):
            raise IndexError(f"index must be an int in [0, {len(self)}), got {index!r}")
        if self._items is None:
            p = generate_problem(self.sequence_seed, index, self.levels, self.split)
            return {"id": p.id, "question": p.question, "answer": p.answer, "difficulty": p.difficulty,
                    "level": p.level, "topic": p.topic, "solution": p.solution, "source": "procedural"}
        it = self._items[index]
        topic = it.meta.get("subject") or it.meta.get("type") or it.meta.get("subfield")
        level = None
        if it.difficulty.startswith("level-") and it.difficulty[6:].isdigit():
            level = int(it.difficulty[6:])
        return {"id": it.id, "question": it.question, "answer": it.answer, "difficulty": it.difficulty,
                "level": level, "topic": topic, "solution": it.solution, "source": it.source}

    # ------------------------------------------------------------------------------------------ gym API

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[str, dict]:
        super().reset(seed=seed)
        index = reset_options(options, RESET_OPTIONS).get("index")
        if index is None:
            index = int(self.np_random.integers(0, len(self)))
        self._current = self.item(index)
        self._current["index"] = index
        self._columns = {"answer": str(self._current["answer"]), "item": str(index)}
        self._prompt = build_prompt(self._current["question"], self.instruction)
        self._done = False
        cur = self._current
        info = {"problem_id": cur["id"], "index": index, "difficulty": cur["difficulty"], "level": cur["level"],
                "topic": cur["topic"], "source": cur["source"], "answer": cur["answer"], "solution": cur["solution"]}
        if self.source == "procedural":
            info["level_name"] = LEVEL_NAMES[cur["level"]]
        return self._prompt, info

    def step(self, action: Any) -> tuple[str, float, bool, bool, dict]:
        if self._current is None:
            raise RuntimeError("call reset() before step()")
        if self._done:
            raise RuntimeError("the episode is over (one answer per episode); call reset()")
        self._done = True
        cur = self._current
        text, error = as_text_action(action, decode_bytes=False)
        if error is not None:
            info = {"extracted": None, "gold": cur["answer"], "correct": False, "format_ok": False,
                    "reason": error, "error": error}
            reward = 0.0
        else:
            graded = self.grade_text(text, **self._columns)
            info, reward = dict(graded.info), graded.reward
        info.update(difficulty=cur["difficulty"], problem_id=cur["id"])
        return "", reward, True, False, info

    # ------------------------------------------------------------------------------------------ reward

    reward_column_names = ("answer", "item")

    def reward_columns(self, info: dict) -> dict[str, str]:
        """{"answer": the gold answer, "item": the item index} of a reset info (the item finds a reasoning-gym
        entry for its own scorer)."""
        return {"answer": str(info["answer"]), "item": str(info["index"])}

    def grade_text(self, text: str, answer: str, item: str = "") -> Graded:
        """The reward of `text` against the gold `answer` under this env's grading options (timeout, thinking,
        last_number, format_reward): 1.0 if correct else 0.0, plus ``format_reward * format_ok``. For a
        reasoning-gym source, a wrong verdict is overturned by the task's own ``score_answer`` of the extracted
        answer when it gives full marks (``item`` names the entry)."""
        from rlvr_gym.verifiers.math import grade

        g = grade(text, answer, timeout=self.timeout, format_weight=self.format_reward,
                  starts_in_thinking=self.starts_in_thinking, last_number=self.last_number)
        info = {"extracted": g.extracted, "gold": answer, "correct": g.correct, "format_ok": g.format_ok,
                "reason": g.reason}
        if self._rg is not None and not g.correct and g.extracted is not None and str(item).isdigit():
            dataset, entries = self._rg
            index = int(item)
            try:
                score = float(dataset.score_answer(g.extracted, entries[index])) if index < len(entries) else 0.0
            except Exception:  # noqa: BLE001 - a task's scorer failing on odd text is a wrong answer
                score = 0.0
            if score >= 1.0:                  # full score only: no partial credit for hedges
                info.update(correct=True, reason="correct (reasoning-gym score_answer)")
        reward = float(info["correct"]) + (self.format_reward * info["format_ok"] if self.format_reward else 0.0)
        return Graded(reward, info)

    def render(self) -> str | None:
        if self.render_mode == "ansi":
            return self._prompt
        return None

