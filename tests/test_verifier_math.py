"""Specification of the math verifier: extraction, hedging, equivalence, timeouts, gold solutions."""

from __future__ import annotations

import json
import random
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import pytest

from rlvr_gym.verifiers.math import (
    MathGrade,
    compare,
    extract_answer,
    extract_boxed,
    extract_final,
    grade,
    parse_number,
    reward_function,
    verify,
)

HERE = Path(__file__).resolve().parent
ADVERSARIAL = [json.loads(line) for line in (HERE / "data" / "math_adversarial.jsonl").read_text().splitlines() if line]
# A comparison sympy cannot finish in seconds: a binomial coefficient with a 3-million-digit value. (Power towers
# such as 9^{9^{9}} are refused before any sympy work: tests/test_verifier_math_guards.py.)
PATHOLOGICAL = r"\binom{10^{7}}{5 \cdot 10^{6}}"


# ---------------------------------------------------------------- the committed adversarial set


@pytest.mark.parametrize("case", ADVERSARIAL, ids=[c["id"] for c in ADVERSARIAL])
def test_adversarial_case(case):
    g = grade(case["response"], case["gold"], timeout=5)
    assert g.correct is case["correct"], (case["note"], g)
    assert g.reward == (1.0 if case["correct"] else 0.0)
    if "extracted" in case:
        assert g.extracted == case["extracted"], (case["note"], g)
    if "reason_contains" in case:
        assert case["reason_contains"] in g.reason, (case["note"], g)
    if "format_ok" in case:
        assert g.format_ok is case["format_ok"], (case["note"], g)


def test_adversarial_set_covers_the_known_bugs():
    ids = {c["id"] for c in ADVERSARIAL}
    for needed in ("first-boxed-not-used", "nested-braces", "fbox", "hedge-two-boxes-or", "think-only",
                   "unclosed-think", "spoofed-close", "answer-tag-in-think", "gold-in-longer-answer"):
        assert needed in ids


# ---------------------------------------------------------------- extraction


def test_boxed_brace_counting_and_escaped_braces():
    assert [b[2] for b in extract_boxed(r"\boxed{\frac{1}{2}} and \fbox{\{1,2\}}")] == [r"\frac{1}{2}", r"\{1,2\}"]
    assert extract_boxed(r"\boxed{1") == []


def test_precedence_answer_tag_then_boxed_then_hashes_then_phrase():
    assert extract_final(r"<answer>7</answer> \boxed{7}").form == "answer_tag"
    assert extract_final("\\boxed{7}\n#### 7").form == "boxed"
    assert extract_final("the answer is 7\n#### 7").form == "hashes"
    assert extract_final("so the answer is 7").form == "phrase"


def test_self_correction_is_not_a_hedge_but_adjacent_or_is():
    assert extract_answer(r"\boxed{3}. Wait, I dropped a sign; redoing it gives \boxed{4}.") == "4"
    ex = extract_final(r"\boxed{3} or \boxed{4}")
    assert ex.hedged and ex.answer is None and ex.candidates == ("3", "4")


def test_starts_in_thinking_for_templates_that_open_think_in_the_prompt():
    assert extract_answer(r"reasoning \boxed{5}", starts_in_thinking=True) is None
    assert extract_answer(r"reasoning</think>\boxed{5}", starts_in_thinking=True) == "5"


def test_chat_message_completions():
    msgs = [{"role": "user", "content": "q"}, {"role": "assistant", "content": r"\boxed{9}"}]
    assert extract_answer(msgs) == "9"


# ---------------------------------------------------------------- equivalence


@pytest.mark.parametrize("gold,pred,expected", [
    ("1/2", "0.5", True), (r"\frac{1}{2}", r"\tfrac12", True), ("1000", "1,000", True), ("1000", "1 000", True),
    ("50", "50%", True), ("0.5", "50%", True), ("50%", "0.5", True), ("50%", "50", True), ("50", "0.5", False),
    ("5", "$5", True), ("5", "5 dollars", True), ("5", "5 cm", True), ("5x", "5", False),
    ("90", r"90^\circ", True), ("90", "90°", True), (r"\text{yes}", "Yes", True),
    ("2.5", r"2\frac{1}{2}", True), ("-3", "- 3", True), ("7", "7.0", True), ("7", "7.0001", False), ("7", "7.000001", True),
    ("3.1415927", "3.1416", False), ("0.1", "0.10000001", True),
    (r"\sqrt{8}", r"2\sqrt2", True), (r"\{1,2\}", r"\{2,1\}", True), ("x^2+2x+1", "(x+1)^2", True),
    ("27", 27.0, True), (27.0, "27", True), ("3", "3 or 4", False),
    ("5", "probably 5 because of symmetry", False), ("5", r"\neq 5", False), (r"x \le 3", r"x \leq 3", True),
    ("5", r"5 \text{ square feet per hour}", True), (r"\text{odd}", "odd", True),
])
def test_equivalence_table(gold, pred, expected):
    assert verify(gold, pred, timeout=5) is expected, compare(gold, pred, timeout=5)


def test_parse_number_is_exact():
    from fractions import Fraction

    assert parse_number("0.1") == Fraction(1, 10)
    assert parse_number(r"-\frac{3}{4}") == Fraction(-3, 4)
    assert parse_number("12 apples") == 12
    assert parse_number(r"\sqrt{2}") is None


def test_bad_inputs_never_crash():
    for bad in (None, b"\\boxed{1}", 17, 3.5, ["not a message"], {"a": 1}):
        g = grade(bad, "1")
        assert isinstance(g, MathGrade) and g.reward == 0.0 and not g.correct
    assert verify("1", None) is False and verify("1", "") is False and verify("1", object()) is False
    with pytest.raises(TypeError, match="gold"):
        grade(r"\boxed{1}", None)


def test_huge_inputs_are_fast_and_zero():
    mb = 1_000_000
    cases = [
        "x" * mb,
        "{" * mb,
        r"\boxed{" * (mb // 7),
        r"\boxed{" + "1" * mb + "}",
        "<think>" * (mb // 7),
        "</think>" * (mb // 8) + r"\boxed{1}",
        "#### " + "9" * mb,
        "the answer is " * (mb // 14),
        r"\boxed{1} or " * (mb // 13),
        "<answer>" * (mb // 8),
        "</answer>" * (mb // 9),
        "<answer>1" + "</answer>" * (mb // 9),
        "#### 1\n" * (mb // 7),
        "$" * mb,
    ]
    for response in cases:
        t = time.perf_counter()
        g = grade(response, "2", timeout=2)
        assert time.perf_counter() - t < 3.0
        assert g.reward == 0.0
    # a 1 MB response whose real answer is at the end still gets credit
    assert grade("blah " * 200_000 + r"\boxed{2}", "2").correct


# ---------------------------------------------------------------- timeouts


def test_pathological_comparison_times_out():
    t = time.perf_counter()
    ok, reason = compare("1", PATHOLOGICAL, timeout=1.0)
    assert not ok and reason == "timeout"
    assert time.perf_counter() - t < 1.0 + 10.0   # the bound plus at most one worker start
    assert grade(rf"\boxed{{{PATHOLOGICAL}}}", "1", timeout=1.0).reason == "timeout"
    # one budget for the whole grade, even when extraction must compare candidates
    t = time.perf_counter()
    g = grade(" or ".join([rf"\boxed{{{PATHOLOGICAL}+{k}}}" for k in range(2)]) + rf" \boxed{{{PATHOLOGICAL}}}", "1", timeout=1.0)
    assert not g.correct and time.perf_counter() - t < 1.0 + 10.0


def test_timeout_from_threads_and_normal_answers_still_work():
    # (gold, predicted, timeout): the normal answers get a generous bound so a loaded machine cannot fail them
    jobs = [("1", PATHOLOGICAL, 1.5), (r"\sqrt{8}", r"2\sqrt{2}", 20), ("1", PATHOLOGICAL, 1.5), ("4", r"\sqrt{16}", 20)]
    t = time.perf_counter()
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda job: compare(*job[:2], timeout=job[2]), jobs))
    assert time.perf_counter() - t < 40.0   # worker starts (~3 s each on 2 busy cores) + the bounds
    assert [r[0] for r in results] == [False, True, False, True]
    assert results[0][1] == results[2][1] == "timeout"


def test_a_worker_killed_from_outside_is_replaced():
    from rlvr_gym.verifiers import math as mv

    assert verify(r"\sqrt{8}", r"2\sqrt{2}")
    for worker in list(mv._POOL.idle):
        worker.proc.kill()
        worker.proc.wait()
    assert verify(r"\sqrt{8}", r"2\sqrt{2}")       # a fresh worker answers; no false "timeout"


def _grade_in_child(args):
    response, gold = args
    return grade(response, gold, timeout=1.0).reason


def test_timeout_inside_a_process_pool():
    with ProcessPoolExecutor(max_workers=1) as pool:
        reasons = list(pool.map(_grade_in_child, [(rf"\boxed{{{PATHOLOGICAL}}}", "1"), (r"\boxed{2\sqrt2}", r"\sqrt8")]))
    assert reasons[0] == "timeout" and reasons[1].startswith("equivalent")


# ---------------------------------------------------------------- rewards


def test_reward_function_trl_style():
    completions = [r"\boxed{4}", [{"role": "assistant", "content": r"\boxed{5}"}], r"\boxed{4} or \boxed{5}", None]
    assert reward_function(completions, answer=["4", "5", "4", "4"], prompts=["p"] * 4) == [1.0, 1.0, 0.0, 0.0]
    assert reward_function([r"\boxed{4}", "the answer is 4"], answer=["4", "4"], format_weight=0.1) == [1.1, 1.0]
    with pytest.raises(ValueError, match="completions"):
        reward_function(["a"], answer=["1", "2"])


def test_raw_dataset_answer_columns_work_as_gold():
    from rlvr_gym.verifiers.math import gold_answer

    assert gold_answer("She has 3 + 4 = <<3+4=7>>7.\n#### 7") == "7"
    assert gold_answer("x" * 300 + r" so $\boxed{\frac{1}{2}}$.") == r"\frac{1}{2}"
    assert gold_answer(r"\boxed{5}") == r"\boxed{5}"       # short: left to normalisation
    assert reward_function([r"\boxed{7}"], answer=["Add them: 3 + 4 = 7.\n#### 7"]) == [1.0]


def test_format_reward_is_separate_from_correctness():
    assert grade(r"\boxed{3}", "4", format_weight=0.2).reward == pytest.approx(0.2)
    assert grade("<think>x", "4", format_weight=0.2).reward == 0.0


# ---------------------------------------------------------------- real gold solutions


def _gsm8k_records(math_data):
    return [json.loads(line) for line in (math_data / "gsm8k" / "test.jsonl").open()]


def _math500_records(math_data):
    return [json.loads(line) for line in (math_data / "math500" / "test.jsonl").open()]


def _check_gold_solutions(gsm, math500):
    failures = []
    for r in gsm:
        gold = r["answer"].split("####")[-1].strip()
        g = grade(r["answer"], gold, timeout=5)
        if not g.correct:
            failures.append(("gsm8k", gold, g))
    for r in math500:
        g = grade(r["solution"], r["answer"], timeout=5)
        if not g.correct:
            failures.append(("math500", r["unique_id"], g))
    return failures


def test_gold_solutions_grade_correct_sample(math_data):
    rng = random.Random(0)
    gsm = rng.sample(_gsm8k_records(math_data), 200)
    math500 = rng.sample(_math500_records(math_data), 150)
    assert _check_gold_solutions(gsm, math500) == []


@pytest.mark.slow
def test_gold_solutions_grade_correct_full(math_data):
    # Every GSM8K test solution (1319) and MATH-500 solution (500) grades as correct against its gold
    # answer: no exceptions (see benchmarks/results/verifier_math.md).
    assert _check_gold_solutions(_gsm8k_records(math_data), _math500_records(math_data)) == []


# ---------------------------------------------------------------- lenient last-number extraction (opt-in)


# by_default: the grade without last_number. Issue #12 made a reply whose last sentence states one answer count by
# default ("... is 12", "= 12", "so 12", a bare "-8"); listing numbers without stating one still gains nothing.
@pytest.mark.parametrize("response, gold, correct, by_default", [
    ("7 + 5 = 12.", "12", True, True),
    ("The sum of 7 and 5 is 12", "12", True, True),
    ("First 3, then 4, so 12", "12", True, True),
    ("12 then 13", "12", False, False),                  # only the last number counts: listing gains nothing
    ("It is 12 or 13.", "12", False, False),             # hedge
    ("It is 13 or 12.", "12", False, False),             # hedge, either order
    ("It is 13, or maybe 12", "12", False, False),       # the box rule's connectives: also a hedge
    ("$13$ \\lor $12$", "12", False, False),
    ("12 or 12", "12", True, True),                      # the same value twice is no hedge
    ("We get 1,200 apples", "1200", True, True),
    ("half: 3/4", "3/4", True, True),
    ("-8", "-8", True, True),
    ("no numbers here", "12", False, False),
    ("\\boxed{3} and later 12", "12", False, False),     # an explicit answer form still wins
    ("<think>12</think>", "12", False, False),           # thinking is never an answer
])
def test_last_number_fallback(response, gold, correct, by_default):
    assert grade(response, gold, last_number=True).correct is correct
    assert grade(response, gold).correct is by_default


def test_last_number_marks_form_and_never_format_ok():
    ex = extract_final("so 7 * 8 = 56", last_number=True)
    assert (ex.answer, ex.form) == ("56", "last_number")
    g = grade("so 7 * 8 = 56", "56", last_number=True, format_weight=0.5)
    assert g.correct and not g.format_ok and g.reward == 1.0
    assert grade("x" * 100_000 + " 56", "56", last_number=True).correct   # only the tail is scanned
