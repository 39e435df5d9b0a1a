"""The warm-up + cosine learning-rate schedule shared by the LET pretraining, dLLM pretraining and unmasking-policy
loops (with a floor: the LET pretraining's min_lr_ratio)."""

from __future__ import annotations

import pytest

from rlvr_gym.agents.training.schedules import warmup_cosine


def warmup_cosine_lr(step, lr, warmup, steps):
    return lr * warmup_cosine(step, warmup, steps)


def test_linear_warmup_then_half_cosine_to_zero():
    lr, warmup, steps = 1e-3, 10, 110
    assert warmup_cosine_lr(0, lr, warmup, steps) == pytest.approx(lr / 10)
    assert warmup_cosine_lr(4, lr, warmup, steps) == pytest.approx(lr / 2)
    assert warmup_cosine_lr(9, lr, warmup, steps) == pytest.approx(lr)
    assert warmup_cosine_lr(10, lr, warmup, steps) == pytest.approx(lr)        # the cosine starts at the peak
    assert warmup_cosine_lr(60, lr, warmup, steps) == pytest.approx(lr / 2)    # half way down
    assert warmup_cosine_lr(110, lr, warmup, steps) == pytest.approx(0, abs=1e-15)
    assert warmup_cosine_lr(500, lr, warmup, steps) == pytest.approx(0, abs=1e-15)  # clamped after the end
    after = [warmup_cosine_lr(s, lr, warmup, steps) for s in range(warmup, steps + 1)]
    assert all(a >= b for a, b in zip(after, after[1:]))                       # never rises after warm-up


def test_no_warmup_and_warmup_past_the_end():
    assert warmup_cosine_lr(0, 2.0, 0, 4) == pytest.approx(2.0)
    assert warmup_cosine_lr(2, 2.0, 0, 4) == pytest.approx(1.0)
    # warmup >= steps: the ramp, then straight to the floor (max(1, ...) keeps the division defined)
    assert warmup_cosine_lr(4, 2.0, 5, 5) == pytest.approx(2.0)
    assert warmup_cosine_lr(5, 2.0, 5, 5) == pytest.approx(2.0)
    assert warmup_cosine_lr(6, 2.0, 5, 5) == pytest.approx(0, abs=1e-15)


def test_floor_of_the_cosine():
    # LET pretraining decays to min_lr_ratio of the peak, not to 0
    assert warmup_cosine(0, 10, 100, 0.1) == pytest.approx(0.1)
    assert warmup_cosine(9, 10, 100, 0.1) == pytest.approx(1.0)
    assert warmup_cosine(100, 10, 100, 0.1) == pytest.approx(0.1)
    assert warmup_cosine(55, 10, 100, 0.1) == pytest.approx(0.1 + 0.9 * 0.5)
