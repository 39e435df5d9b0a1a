"""Specification of the procedural math generator: reproducible, addressable items with exact, checked answers."""

from __future__ import annotations

import ast
import hashlib
import json
import math
import operator
import os
import re
import subprocess
import sys
from collections import Counter
from fractions import Fraction

import pytest

from rlvr_gym.envs.math.procedural import (
    LEVEL_NAMES,
    LEVELS,
    MathProblem,
    format_answer,
    generate_problem,
    generate_problems,
    question_split,
    resolve_levels,
)
from rlvr_gym.verifiers.math import grade

N = 3000


@pytest.fixture(scope="module")
def problems() -> list[MathProblem]:
    return generate_problems(N, seed=11)


def _digest(seed: int, n: int) -> str:
    blob = json.dumps([p.to_dict() for p in generate_problems(n, seed=seed)], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


# ---------------------------------------------------------------- reproducibility


def test_same_seed_same_items_and_items_are_addressable():
    a = generate_problems(50, seed=5)
    assert a == generate_problems(50, seed=5)
    assert generate_problem(5, 37) == a[37]                      # item i without generating 0..i-1
    assert generate_problems(10, seed=5, start=40) == a[40:50]
    assert a != generate_problems(50, seed=6)
    assert len({p.question for p in a}) > 45


def test_same_items_in_other_processes_and_hash_seeds():
    expected = _digest(3, 200)
    code = "from tests.test_math_procedural import _digest; print(_digest(3, 200))"
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for hashseed in ("0", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=hashseed)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=root, check=True)
        assert out.stdout.strip() == expected


def test_generator_does_not_touch_the_global_rng():
    import random

    random.seed(123)
    before = random.random()
    random.seed(123)
    generate_problems(20, seed=1)
    assert random.random() == before


# ---------------------------------------------------------------- levels


def test_at_least_eight_levels_each_with_templates():
    assert len(LEVELS) >= 9 and sorted(LEVELS) == list(range(0, len(LEVELS)))   # 0 = warm-up
    assert all(LEVEL_NAMES[k] for k in LEVELS)


def test_every_level_and_topic_appears(problems):
    seen = Counter((p.level, p.topic) for p in problems)
    for level, (_, templates) in LEVELS.items():
        if level == 0:                                              # opt-in, not in the default set
            continue
        for t in templates:
            assert seen[(level, t.__name__[3:])] > 0, (level, t.__name__)


def test_level_selection():
    assert resolve_levels() == tuple(range(1, 11))                 # the warm-up level 0 only when named
    assert resolve_levels(level=0) == (0,)
    assert resolve_levels(level=4) == (4,)
    assert resolve_levels(levels=[5, 2, 5]) == (2, 5)
    assert {p.level for p in generate_problems(200, seed=2, levels=[2, 5])} == {2, 5}
    for bad in ([-1], [11 + len(LEVELS)], ["3"], [True], []):
        with pytest.raises(ValueError, match="levels"):
            resolve_levels(levels=bad)
    with pytest.raises(ValueError, match="either"):
        resolve_levels(level=1, levels=[2])
    with pytest.raises(TypeError):
        resolve_levels(levels="123")
    with pytest.raises(ValueError):
        generate_problem(0, -1)


# ---------------------------------------------------------------- answers


def test_answers_are_exact_text_and_questions_ascii(problems):
    for p in problems:
        assert re.fullmatch(r"-?\d+(/\d+)?", p.answer), p
        value = Fraction(p.answer)
        assert format_answer(value) == p.answer                   # reduced, canonical
        assert p.question.isascii() and p.question.strip()
        assert p.difficulty == f"level-{p.level}"


def test_worked_solutions_grade_correct(problems):
    for p in problems[:1500]:
        g = grade(p.solution, p.answer)
        assert g.correct and g.format_ok, (p, g)


def test_a_wrong_answer_is_wrong(problems):
    for p in problems[:300]:
        assert not grade(rf"\boxed{{{format_answer(p.value + 1)}}}", p.answer).correct


_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
        ast.Pow: operator.pow}


def _eval(expr: str) -> Fraction:
    """Evaluate + - * / ^ and brackets exactly (an independent check of the generator's arithmetic)."""
    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant):
            return Fraction(str(node.value))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -ev(node.operand)
        if isinstance(node, ast.BinOp):
            return _OPS[type(node.op)](ev(node.left), ev(node.right))
        raise ValueError(ast.dump(node))
    return ev(ast.parse(expr.replace("^", "**"), mode="eval"))


def _independent_answer(p: MathProblem) -> Fraction | None:
    """Recompute the answer from the question text alone, for the templates where that is mechanical."""
    q = p.question
    if p.topic in ("order_ops", "powers", "decimal"):
        return _eval(re.match(r"(?:Evaluate|Compute) (.*)\.$", q).group(1))
    if p.topic == "add_sub":
        return _eval(re.match(r"(?:What is|Compute) (.*?)[?.]$", q).group(1))
    if p.topic == "mul_div":
        m = re.match(r"What is (\d+) divided by (\d+)\?", q)
        return Fraction(int(m[1]), int(m[2])) if m else _eval(re.match(r"Calculate (.*)\.$", q).group(1))
    if p.topic == "power_mod":
        b, e, m = map(int, re.findall(r"\d+", q))
        return Fraction(pow(b, e, m))
    if p.topic == "inclusion_exclusion":
        n, a, b = map(int, re.findall(r"\d+", q)[1:4])
        hits = sum(1 for k in range(1, n + 1) if k % a == 0 or k % b == 0)
        return Fraction(n - hits if "neither" in q else hits)
    if p.topic == "divisors":
        n = int(re.findall(r"\d+", q)[0])
        small = [d for d in range(1, math.isqrt(n) + 1) if n % d == 0]
        divs = sorted(set(small) | {n // d for d in small})
        return Fraction(len(divs) if q.startswith("How many") else sum(divs))
    if p.topic == "lcm":
        a, b = map(int, re.findall(r"every (\d+) minutes", q))
        return Fraction(math.lcm(a, b))
    if p.topic == "linear_solve":
        lhs, rhs = re.match(r"Solve for x: (.*) = (.*)\.$", q).groups()
        x = p.value
        sub = lambda side: _eval(re.sub(r"(\d)x", r"\1*(X)", side).replace("-x", "-1*(X)").replace("x", "(X)")
                                 .replace("X", f"{x.numerator}/{x.denominator}"))
        return x if sub(lhs) == sub(rhs) else None
    if p.topic == "system":
        m = re.match(r"If (.*) = (-?\d+) and (.*) = (-?\d+), what is (.*)\?$", q)
        def coefs(side):
            side = side.replace(" ", "")
            cx = re.match(r"(-?\d*)x", side).group(1)
            cy = re.search(r"([+-]\d*)y", side).group(1)
            tonum = lambda c: int(c + "1") if c in ("", "-", "+") else int(c)
            return tonum(cx), tonum(cy)
        (a, b), (c, d) = coefs(m[1]), coefs(m[3])
        e, f = int(m[2]), int(m[4])
        det = a * d - b * c
        x, y = Fraction(e * d - b * f, det), Fraction(a * f - e * c, det)
        return {"x": x, "y": y, "x + y": x + y, "x - y": x - y, "xy": x * y}[m[5]]
    if p.topic == "dice_prob":
        t = int(re.search(r"(?:least|exactly) (\d+)", q)[1])
        ok = sum(1 for i in range(1, 7) for j in range(1, 7) if (i + j >= t if "least" in q else i + j == t))
        return Fraction(ok, 36)
    return None


def test_answers_agree_with_an_independent_recomputation(problems):
    checked = Counter()
    for p in problems:
        value = _independent_answer(p)
        if value is not None:
            assert value == p.value, p
            checked[p.topic] += 1
    assert len(checked) >= 12 and sum(checked.values()) > 800


def test_generation_is_fast():
    import time

    t = time.perf_counter()
    generate_problems(2000, seed=9)
    assert time.perf_counter() - t < 2.0


def test_warm_up_level_zero_is_single_digit_arithmetic():
    items = generate_problems(300, seed=4, levels=[0])
    assert {p.level for p in items} == {0} and {p.difficulty for p in items} == {"level-0"}
    ops = Counter()
    for p in items:
        m = re.fullmatch(r"What is (\d) ([-+*]) (\d)\?", p.question)
        assert m, p.question
        a, op, b = int(m.group(1)), m.group(2), int(m.group(3))
        ops[op] += 1
        assert Fraction(p.answer) == {"+": a + b, "-": a - b, "*": a * b}[op] and Fraction(p.answer) >= 0
        assert grade(p.solution, p.answer, last_number=True).correct
    assert min(ops.values()) > 60                                  # all three operations appear


def test_train_and_test_splits_never_share_a_question():
    train = generate_problems(1500, seed=0, levels=[0], split="train")
    test = generate_problems(400, seed=9, levels=[0], split="test")
    assert {p.question for p in train}.isdisjoint({p.question for p in test})
    assert all(question_split(p.question) == "test" for p in test)
    assert len({p.question for p in test}) >= 30                    # ~20% of level 0's 207 questions
    assert generate_problem(0, 17, [0], "train") == train[17]       # still addressable and deterministic
    mixed = generate_problems(300, seed=2, split="test")             # any level
    assert all(question_split(p.question) == "test" for p in mixed)
    assert generate_problems(5, seed=3) == generate_problems(5, seed=3, split=None)   # no split: unchanged
    with pytest.raises(ValueError, match="split"):
        generate_problem(0, 0, split="validation")
