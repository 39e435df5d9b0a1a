"""The learning-rate schedule of the in-house training loops (LET pretraining, dLLM pretraining, unmasking-policy
GRPO); the GRPO trainer uses transformers' schedulers."""

from __future__ import annotations

import math

__all__ = ["warmup_cosine"]


def warmup_cosine(step: int, warmup: int, total: int, min_ratio: float = 0.0) -> float:
    """The learning-rate multiplier at 0-based ``step``: a linear ramp over the first ``warmup`` steps
    (``(step + 1) / warmup``), then half a cosine from 1 down to ``min_ratio`` at ``total``, ``min_ratio`` after."""
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))
