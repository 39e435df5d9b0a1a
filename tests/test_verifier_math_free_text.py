"""Specification of free-text replies (issue #12): a reply without a box, tag or #### is graded on the one answer its
final answer phrase or its last sentence states; hedges stay hedges; a stated final answer after a boxed value in the
working wins."""

from __future__ import annotations

import pytest

from rlvr_gym.verifiers.math import extract_final, grade


@pytest.mark.parametrize("reply, gold", [
    # the Minerva / lm-eval sign-off
    ("So the area is 36.\nFinal Answer: The final answer is $36$. I hope it is correct.", "36"),
    ("Final Answer: The final answer is $\\frac{7}{2}$. I hope it is correct.", "3.5"),
    ("Final Answer: The final answer is 4,096. I hope it is correct.", "4096"),
    # "Answer" followed by math, with or without a colon
    ("Answer $17$", "17"),
    ("Answer: \\(2\\sqrt{3}\\)", "\\sqrt{12}"),
    ("**Answer:** 64", "64"),
    # a last sentence that states one value
    ("Collecting terms, we conclude that $y \\leq -2$ is the solution set.", "y \\le -2"),
    ("Each of the 8 boxes holds 6 pens, so the shop has 48 pens in total.", "48"),
    ("Hence the chance that the red die shows more than the blue one is 5/12.", "\\frac{5}{12}"),
    ("The tank drains in $\\frac{15}{4}$ hours.", "3.75"),
    ("We find that $k = 9$.", "9"),
    ("Its inverse is $\\begin{pmatrix} 2 & -1 \\\\ -1 & 1 \\end{pmatrix}$.",
     "\\begin{pmatrix} 2 & -1 \\\\ -1 & 1 \\end{pmatrix}"),
    # sentences after the statement that state nothing are skipped
    ("The perimeter is 30 cm. Let me know if you need more help!", "30"),
    # chat-template leftovers after the answer
    ("Therefore the remainder is 3. <|im_end|>", "3"),
    # a bare answer: the whole reply is the answer
    ("$\\frac{3}{8}$", "0.375"),
    ("(2, -1)", "(2,-1)"),
    ("purple", "\\text{purple}"),
    ("12 percent", "12\\%"),
])
def test_free_text_reply_is_graded_on_its_stated_answer(reply, gold):
    g = grade(reply, gold)
    assert g.correct, g
    assert not g.format_ok                      # a free-text answer is counted, but it is not the requested format


@pytest.mark.parametrize("reply, gold", [
    ("The answer is 11.", "12"),
    ("Final Answer: The final answer is $\\frac{7}{3}$. I hope it is correct.", "3.5"),
    ("So the shop has 47 pens in total.", "48"),
    ("We conclude that $y \\geq -2$.", "y \\le -2"),
])
def test_free_text_wrong_answers_stay_wrong(reply, gold):
    assert not grade(reply, gold).correct


@pytest.mark.parametrize("reply", [
    "The answer is 7 or 8.",
    "It must be either $7$ or $8$.",
    "So x is 7, or possibly 8.",
    "Final Answer: The final answer is $7$ or $8$. I hope it is correct.",
])
def test_free_text_hedges_stay_hedges(reply):
    for gold in ("7", "8"):
        g = grade(reply, gold)
        assert not g.correct and g.reward == 0.0, g


@pytest.mark.parametrize("reply, gold", [
    ("The trip took 2 hours 45 minutes.", "2"),                  # two quantities, not one of its numbers
    ("The trip took 2 hours 45 minutes.", "45"),
    ("First 6, then 9, then 4", "4"),                          # a list of numbers states no answer
    ("The answer is not 4.", "4"),                             # a negation states no answer
    ("So the total is not 4", "4"),
    ("Could the total be 4?", "4"),                            # a question states no answer
    ("I could not finish the computation.", "4"),
])
def test_no_single_stated_answer_gets_no_credit(reply, gold):
    assert not grade(reply, gold).correct


def test_stated_final_answer_after_a_boxed_value_in_the_working_wins():
    reply = ("The first leg costs $\\boxed{40}$ dollars. Adding the return leg, the trip costs 85 dollars.\n"
             "Final Answer: The final answer is 85. I hope it is correct.")
    assert grade(reply, "85").correct
    assert not grade(reply, "40").correct
    # a final statement that repeats the box keeps the box (and its format credit)
    same = "So $x = \\boxed{6}$.\nFinal Answer: The final answer is $6$."
    g = grade(same, "6")
    assert g.correct and g.format_ok


def test_a_hedged_final_statement_after_a_box_is_a_hedge():
    reply = "We get \\boxed{5} in the first case.\nThe final answer is 5 or 6."
    assert not grade(reply, "5").correct


def test_thinking_is_still_never_an_answer():
    assert extract_final("<think>The answer is 12.</think>").answer is None
    assert extract_final("<think>so 12</think>Not sure.").answer is None


def test_forms_are_reported():
    assert extract_final("Final Answer: The final answer is $3$.").form == "phrase"
    assert extract_final("Therefore the sum is 3.").form == "statement"
    assert extract_final("$3$").form == "bare"
