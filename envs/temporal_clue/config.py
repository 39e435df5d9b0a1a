"""Difficulty knobs of the Temporal Clue generator: a self-validating config and named presets.

Sizes left as None are drawn per puzzle from the original release's distribution for `players`
(1..6; when `players` is None too, players itself is drawn uniformly from 1..6 as the original did):
    caps: suspects <= min(10, int(2.5 p)), weapons <= min(8, int(2.125 p)), rooms <= min(17, 3 p), times <= 2 p
    weapons = max(2, min(p + randint(-1, 5), cap)); suspects = min(weapons + randint(0, weapons - 1), cap)
    rooms = min(suspects + randint(0, suspects - 2), cap); times = randint(1, cap)

Presets (difficulty grows with the original's `players` knob; kept clues, prompt characters and questions
are medians (range) over 20 puzzles, benchmarks/results/calibration_temporal_clue.md):
    tiny   = 2 suspects, 2 weapons, 3 rooms, 1 time                   3 clues (2-6),    ~1.3k chars, 3 questions (3-4)
    easy   = players 1: 2 suspects, 2 weapons, 2 rooms, 1-2 times      5.5 clues (2-7),  ~2.0k chars, 6 questions (3-7)
    medium = players 2: 2-5 suspects, 2-4 weapons, 2-6 rooms, 1-4 times  15 clues (3-25),  ~2.6k chars, 6.5 (3-8)
    hard   = players 3: 2-7 suspects, 2-6 weapons, 2-9 rooms, 1-6 times  23 clues (6-46),  ~4.0k chars, 7 (5-8)
    expert = players 4: 3-10 suspects, 3-8 weapons, 3-12 rooms, 1-8 times 35.5 clues (8-76), ~5.3k chars, 7 (5-8)
Generation on one core (median / p95 seconds, benchmarks/results/generation_speed.md): easy 0.016 / 0.025,
medium 0.04 / 0.11, hard 0.16 / 0.63, expert 0.44 / 2.1. `tiny` is the size for the embedded 135M model's
experiments (benchmarks/results/temporal_clue_small_calibration.md).
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, fields, replace

from rlvr_gym.envs.temporal_clue.clues import CLUE_TYPE_NAMES
from rlvr_gym.envs.temporal_clue.elements import MOTIVES, ROOMS, SUSPECTS, WEAPONS

MAX_QUESTIONS = 8
MAX_TIMES = 24
MOTIVE_MODES = ("unique", "shared", "random")
TIME_STEPS = (15, 30, 60)
UNIQUE_OVER = ("world", "questions")
# Share of the bonus slots (8 - main questions) that get a question: the original release's rate
# (questions.py explains the count; measured on train_candidates.json, 0.63-0.71 for every main count).
BONUS_RATE = 0.68


@dataclass
class TemporalClueConfig:
    """One puzzle family. Sizes (suspects ... time_step) as in the module docstring; then:

    motive_mode      "unique" (one motive per suspect), "shared" (counts given), "random" (either, 50/50)
    clue_types       the clue types the generator may use (names from clues.CLUE_TYPE_NAMES)
    bonus_questions  at most this many bonus questions (0-8; 8 questions in all at most)
    bonus_rate       the share of bonus slots (8 - main questions) that get a question (questions.py);
                     default: the original release's 0.68. A slot stays empty when no fact is left that
                     is neither stated by a clue nor implied by the other answers.
    unique_over      "world": the clues pin down the whole night, as the original; "questions": the clues
                     only force the asked answers (same questions, shorter clue sets; off by default)
    verbose_rules    the prompt states every rule at length instead of the compact rules section
    """

    suspects: int | None = None
    weapons: int | None = None
    rooms: int | None = None
    times: int | None = None
    motives: int | None = None
    motive_mode: str = "random"
    players: int | None = None
    time_step: int | None = None
    clue_types: tuple[str, ...] = CLUE_TYPE_NAMES
    bonus_questions: int = 8
    bonus_rate: float = BONUS_RATE
    unique_over: str = "world"
    verbose_rules: bool = False
    name: str = "custom"

    def validate(self) -> "TemporalClueConfig":
        """Raise ValueError naming the bad field and what it must be; return self when valid."""
        def check_count(field: str, low: int, high: int) -> None:
            value = getattr(self, field)
            if value is None:
                return
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{field} must be an int in {low}..{high} or None, got {value!r}")
            if not low <= value <= high:
                raise ValueError(f"{field} must be in {low}..{high}, got {value}")

        check_count("suspects", 2, len(SUSPECTS))
        check_count("weapons", 2, len(WEAPONS))
        check_count("rooms", 2, len(ROOMS))
        check_count("times", 1, MAX_TIMES)
        check_count("motives", 1, len(MOTIVES))
        check_count("players", 1, 6)
        if self.suspects is not None and self.motives is not None and self.motives > self.suspects:
            raise ValueError(f"motives ({self.motives}) cannot exceed suspects ({self.suspects})")
        if self.motive_mode not in MOTIVE_MODES:
            raise ValueError(f"motive_mode must be one of {MOTIVE_MODES}, got {self.motive_mode!r}")
        if self.time_step is not None and self.time_step not in TIME_STEPS:
            raise ValueError(f"time_step must be one of {TIME_STEPS} (minutes) or None, got {self.time_step!r}")
        if isinstance(self.clue_types, str) or not self.clue_types:
            raise ValueError(f"clue_types must be a non-empty sequence of names from {CLUE_TYPE_NAMES}")
        unknown = [c for c in self.clue_types if c not in CLUE_TYPE_NAMES]
        if unknown:
            raise ValueError(f"unknown clue types {unknown}; expected names from {CLUE_TYPE_NAMES}")
        if isinstance(self.bonus_questions, bool) or not isinstance(self.bonus_questions, int) \
                or not 0 <= self.bonus_questions <= MAX_QUESTIONS:
            raise ValueError(f"bonus_questions must be an int in 0..{MAX_QUESTIONS}, got {self.bonus_questions!r}")
        if isinstance(self.bonus_rate, bool) or not isinstance(self.bonus_rate, (int, float)) \
                or not 0.0 <= self.bonus_rate <= 1.0:
            raise ValueError(f"bonus_rate must be a number in 0..1, got {self.bonus_rate!r}")
        if self.unique_over not in UNIQUE_OVER:
            raise ValueError(f"unique_over must be one of {UNIQUE_OVER}, got {self.unique_over!r}")
        if not isinstance(self.verbose_rules, bool):
            raise ValueError(f"verbose_rules must be a bool, got {self.verbose_rules!r}")
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be a non-empty string, got {self.name!r}")
        return self

    def to_dict(self) -> dict:
        d = asdict(self)
        d["clue_types"] = list(self.clue_types)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TemporalClueConfig":
        if not isinstance(d, dict):
            raise ValueError(f"a config must be a dict, got {type(d).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(k for k in d if k not in known)
        if unknown:
            raise ValueError(f"unknown config keys {unknown}; expected some of {sorted(known)}")
        d = dict(d)
        if "clue_types" in d and not isinstance(d["clue_types"], str):
            d["clue_types"] = tuple(d["clue_types"])
        return cls(**d).validate()

    def draw_sizes(self, rng: random.Random) -> dict:
        """Sizes of one puzzle: fixed fields as given, the rest drawn (the original's distribution)."""
        self.validate()
        p = self.players if self.players is not None else rng.randint(1, 6)
        cap_s, cap_w, cap_r, cap_t = min(10, int(2.5 * p)), min(8, int(2.125 * p)), min(17, 3 * p), 2 * p
        w = self.weapons if self.weapons is not None else max(2, min(p + rng.randint(-1, 5), cap_w))
        s = self.suspects if self.suspects is not None else max(2, min(w + rng.randint(0, w - 1), cap_s))
        r = self.rooms if self.rooms is not None else max(2, min(s + rng.randint(0, max(0, s - 2)), cap_r))
        t = self.times if self.times is not None else rng.randint(1, cap_t)
        step = self.time_step if self.time_step is not None else rng.choice(TIME_STEPS)
        mode = self.motive_mode if self.motive_mode != "random" else rng.choice(("unique", "shared"))
        motives = None if self.motives is None else min(self.motives, s)
        return {"players": p, "suspects": s, "weapons": w, "rooms": r, "times": t, "time_step": step,
                "motive_mode": mode, "motives": motives}


PRESETS: dict[str, TemporalClueConfig] = {
    "tiny": TemporalClueConfig(players=1, suspects=2, weapons=2, rooms=3, times=1, name="tiny"),
    "easy": TemporalClueConfig(players=1, name="easy"),
    "medium": TemporalClueConfig(players=2, name="medium"),
    "hard": TemporalClueConfig(players=3, name="hard"),
    "expert": TemporalClueConfig(players=4, name="expert"),
}
DEFAULT_PRESET = "medium"


def resolve_config(preset: str | None = None, players: int | None = None,
                   config: "dict | TemporalClueConfig | None" = None) -> TemporalClueConfig:
    """One validated config from a preset name, a player count and/or explicit fields.

    A TemporalClueConfig is used as given (with no preset/players beside it). Otherwise start from
    `preset` (default "medium"); `players` replaces the size distribution (name "players-P"); a dict
    overrides single fields.
    """
    if isinstance(config, TemporalClueConfig):
        if preset is not None or players is not None:
            raise ValueError("give either a TemporalClueConfig or preset/players, not both")
        return replace(config).validate()
    if config is not None and not isinstance(config, dict):
        raise ValueError(f"config must be a dict or TemporalClueConfig, got {type(config).__name__}")
    name = DEFAULT_PRESET if preset is None else preset
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; expected one of {list(PRESETS)}")
    cfg = replace(PRESETS[name])
    if players is not None:
        cfg = replace(cfg, players=players, name=f"players-{players}")
    if config:
        merged = {**cfg.to_dict(), **config}
        if "name" not in config and preset is None and players is None:
            merged["name"] = "custom"
        cfg = TemporalClueConfig.from_dict(merged)
    return cfg.validate()
