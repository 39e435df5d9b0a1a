"""Specification of answers with several parts, their order, and answers written as program code (issue #12)."""

from __future__ import annotations

import pytest

from rlvr_gym.verifiers.math import compare, grade, verify


# ---------------------------------------------------------------- order


@pytest.mark.parametrize("gold, pred, expected", [
    ("3, 9, -1", "3, 9, -1", True),
    ("3, 9, -1", "9, 3, -1", False),                  # a plain list keeps its order
    ("(2, 5)", "(5, 2)", False),                      # a tuple / coordinates keep their order
    ("(2, 5)", "2, 5", True),                         # a tuple and the same entries listed in order
    ("(2, 5)", "5, 2", False),
    ("\\{3, 9, -1\\}", "\\{9, -1, 3\\}", True),       # a set gold is unordered
    ("\\{3, 9\\}", "\\{3, 9, 9\\}", True),            # and counts each element once
    ("\\{3, 9\\}", "\\{3, 9, 4\\}", False),
    ("x = 6, -4", "-4, 6", True),                     # all values of one unknown: a solution set
    ("t = 1 \\text{ and } t = 2", "t = 2, t = 1", True),
    ("(1, 4), (4, 1)", "(4, 1), (1, 4)", True),       # several tuples: a set of solutions, each tuple ordered
    ("(1, 4), (4, 1)", "(1, 4), (1, 4)", False),
    ("(1, 4), (4, 1)", "(4, 1), (4, 1), (1, 4)", True),
    ("\\pm 3", "3, -3", True),                        # plus-minus is the set of two values
    ("\\pm 3", "3", False),
    ("2 \\pm \\sqrt{5}", "2 - \\sqrt{5}, 2 + \\sqrt{5}", True),
    ("m = 2, n = 7", "n = 7, m = 2", True),           # named parts match by name
    ("m = 2, n = 7", "2, 7", True),                   # or in order when only one side names them
    ("m = 2, n = 7", "7, 2", False),
    ("3, 9, -1", "\\{9, 3, -1\\}", False),          # the gold decides: a set prediction cannot reorder a list gold
    ("x = 6, -4", "x = -4 \\text{ or } x = 6", True),  # alternatives that state a solution set
    ("6, -4", "6 or -4", False),                      # but against a plain list they are a hedge
])
def test_order_rule(gold, pred, expected):
    assert verify(gold, pred) is expected, compare(gold, pred)


def test_order_rule_in_replies():
    assert not grade("The roots in order are \\boxed{5, 1, -3}", "1, 5, -3").correct
    assert grade("The roots are \\boxed{-3}, \\boxed{1} and \\boxed{5}.", "\\{1, 5, -3\\}").correct


# ---------------------------------------------------------------- several answers


@pytest.mark.parametrize("reply, gold, expected", [
    ("(a) \\boxed{12} (b) \\boxed{30}", "12, 30", True),
    ("For part (a) the speed is \\boxed{12} and for part (b) \\boxed{30}.", "(12, 30)", True),
    ("For part (a) the speed is \\boxed{12} and for part (b) \\boxed{30}.", "(30, 12)", False),
    ("$p = \\boxed{3}$ and $q = \\boxed{8}$", "p = 3, q = 8", True),
    ("$p = \\boxed{3}$ and $q = \\boxed{8}$", "p = 8, q = 3", False),
    ("\\boxed{12} apples and \\boxed{30} pears", "12, 30", True),
    ("\\boxed{12}. Oops, I misread the question; it is \\boxed{30}.", "30", True),   # a correction, not a list
    ("\\boxed{12}. Oops, I misread the question; it is \\boxed{30}.", "12, 30", False),
    ("\\boxed{12} or \\boxed{30}", "12, 30", False),    # alternatives offered for a two-part answer: still a hedge
])
def test_several_boxed_answers(reply, gold, expected):
    assert grade(reply, gold).correct is expected, grade(reply, gold)


def test_a_gold_written_with_boxes():
    assert grade("\\boxed{4, 9}", "\\boxed{4} and \\boxed{9}").correct
    assert grade("$\\boxed{-1, 6}$", "so the solutions are $y = \\boxed{6, -1}$.").correct   # named: a solution set


# ---------------------------------------------------------------- program syntax


@pytest.mark.parametrize("gold, pred, expected", [
    ("-3*x**4 + x**2/5 + C", "-3*x**4 + x**2/5 + C", True),
    ("-3*x**4 + x**2/5 + C", "x**2/5 - 3*x**4 + K", True),          # any name for the constant
    ("-3*x**4 + x**2/5 + C", "-3*x**4 + x**2/5", True),             # the constant left out
    ("-3*x**4 + x**2/5 + C", "-3", False),                          # never a number it merely contains
    ("-3*x**4 + x**2/5 + C", "-3*x**4", False),
    ("-3*x**4 + x**2/5 + C", "-3*x**5 + x**2/5 + C", False),
    ("-3*x**4 + x**2/5 + C", "-3*X**4 + X**2/5 + C", False),        # another variable (case matters)
    ("-3*x**4 + x**2/5 + C", "-3*x**4 + x**2/5 +", False),          # malformed
    ("exp(2*x)/2 + C", "exp(2*x)/2 + C + 1 - 1", True),
    ("exp(2*x)/2 + C", "\\frac{e^{2x}}{2} + C", True),              # code against LaTeX
    ("log(x) + C", "log(x", False),
])
def test_program_syntax(gold, pred, expected):
    assert verify(gold, pred) is expected, compare(gold, pred)


def test_program_syntax_reply_is_not_reduced_to_a_number():
    reply = "Integrating term by term gives -7*x**3 + 2*x + C"
    assert not grade(reply, "-7").correct
    assert grade("<answer>-7*x**3 + 2*x + C</answer>", "-7*x**3 + 2*x + C").correct


def test_an_expression_is_never_reduced_to_a_leading_number():
    # math-verify reads "1 - \\frac{1}{\\mathrm{e}}" as 1 (it stops at \\mathrm{e}); so would we, unprepared
    assert not verify("1 - \\frac{1}{\\mathrm{e}}", "1 + \\frac{1}{\\mathrm{e}}")
    assert not verify("1 - \\frac{1}{\\mathrm{e}}", "1")
    assert verify("1 - \\frac{1}{\\mathrm{e}}", "1 - e^{-1}")
    # a prediction math-verify reads only in part ("3 \\cdot" of it) is not the number it starts with
    assert not verify("3", "3 \\cdot \\text{base} \\times h")
