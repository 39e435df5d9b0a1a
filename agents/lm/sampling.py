"""Sampling parameters shared by every model agent (hf, openai, vllm) and the local server.

``SamplingParams`` holds what a user can ask of a generation; each backend translates it
(transformers ``generate`` kwargs, an OpenAI request body, ``vllm.SamplingParams``).
Agent specs may carry options after a ``?``: ``hf:smollm2-135m?max_tokens=512&temperature=0.7``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping, Sequence


@dataclass(frozen=True)
class SamplingParams:
    """temperature 0 means greedy decoding; stop strings cut the text at the first occurrence (the stop
    string itself is not kept); seed makes sampling reproducible; n is the number of samples per prompt."""

    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 256
    stop: tuple[str, ...] = ()
    seed: int | None = None
    n: int = 1

    def __post_init__(self) -> None:
        stop = self.stop
        if stop is None:
            stop = ()
        elif isinstance(stop, str):
            stop = (stop,)
        object.__setattr__(self, "stop", tuple(stop))
        self.validate()

    def validate(self) -> "SamplingParams":
        if not isinstance(self.temperature, (int, float)) or self.temperature < 0:
            raise ValueError(f"temperature must be a number >= 0 (0 = greedy), got {self.temperature!r}")
        if not isinstance(self.top_p, (int, float)) or not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p!r}")
        if isinstance(self.max_tokens, bool) or not isinstance(self.max_tokens, int) or self.max_tokens < 1:
            raise ValueError(f"max_tokens must be an integer >= 1, got {self.max_tokens!r}")
        if not all(isinstance(s, str) and s for s in self.stop):
            raise ValueError(f"stop must be a list of non-empty strings, got {self.stop!r}")
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int)):
            raise ValueError(f"seed must be an integer or None, got {self.seed!r}")
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 1:
            raise ValueError(f"n must be an integer >= 1, got {self.n!r}")
        return self

    @property
    def greedy(self) -> bool:
        return self.temperature == 0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["stop"] = list(self.stop)
        return d

    def replace(self, **changes: Any) -> "SamplingParams":
        return SamplingParams(**{**asdict(self), **changes})

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_options(cls, options: Mapping[str, Any], base: "SamplingParams | None" = None) -> tuple["SamplingParams", dict]:
        """Split ``options`` into sampling params (names of this class; ``None`` values ignored) and the rest."""
        base = base or cls()
        names = set(cls.names())
        chosen = {k: v for k, v in options.items() if k in names and v is not None}
        rest = {k: v for k, v in options.items() if k not in names}
        if "temperature" in chosen:
            chosen["temperature"] = float(chosen["temperature"])
        if "top_p" in chosen:
            chosen["top_p"] = float(chosen["top_p"])
        return base.replace(**chosen), rest


def agent_options(kind: str, options: Mapping[str, Any], spec_options: Mapping[str, Any],
                  accepted: Sequence[str]) -> tuple[SamplingParams, dict]:
    """The options of a ``kind:`` agent spec: ``options`` (from the caller) overridden by ``spec_options`` (after
    the ``?``), split into SamplingParams and the other options, which must be named in ``accepted`` (None values
    are dropped). Returns (sampling, other options); a ValueError names any unknown option and the accepted ones."""
    sampling, other = SamplingParams.from_options({**options, **spec_options})
    unknown = sorted(k for k, v in other.items() if k not in accepted and v is not None)
    if unknown:
        raise ValueError(f"unknown {kind} agent option(s) {unknown}; accepted: "
                         f"{', '.join(SamplingParams.names() + tuple(accepted))}")
    return sampling, {k: v for k, v in other.items() if v is not None}


def truncate_at_stop(text: str, stop: Sequence[str]) -> tuple[str, str | None]:
    """Cut ``text`` at the earliest occurrence of any stop string; returns (text, the stop string hit or None)."""
    best, hit = len(text), None
    for s in stop:
        i = text.find(s)
        if 0 <= i < best:
            best, hit = i, s
    return text[:best], hit


def _parse_value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def split_spec_options(rest: str) -> tuple[str, dict]:
    """``"name?max_tokens=64&stop=[\\"\\\\n\\"]"`` -> ("name", {"max_tokens": 64, "stop": ["\\n"]}).
    Values are JSON where they parse as JSON, else strings."""
    target, sep, query = rest.partition("?")
    options: dict[str, Any] = {}
    if sep:
        for part in query.split("&"):
            if not part:
                continue
            key, eq, value = part.partition("=")
            if not eq or not key:
                raise ValueError(f"agent spec options must look like key=value&key=value, got {part!r}")
            options[key.strip()] = _parse_value(value)
    return target.strip(), options
