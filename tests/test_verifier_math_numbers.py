"""Specification of numbers as people write them (issue #12): thousands separators, a decimal comma where it cannot
be anything else, currency, quantity words, and decimals against exact forms."""

from __future__ import annotations

import math

import pytest

from rlvr_gym.verifiers.math import compare, grade, verify


@pytest.mark.parametrize("gold, pred", [
    ("2500000", "2 500 000"),                 # spaces between thousands
    ("2500000", "2\\,500\\,000"),             # LaTeX thin spaces
    ("2500000", "2{,}500{,}000"),             # braced commas
    ("2500000", "2,\\!500,\\!000"),           # MATH-style comma with a negative thin space
    ("\\$74,\\!019", "74019"),                # a MATH-500 style currency gold and every plain writing of it
    ("\\$74,\\!019", "74,019"),
    ("\\$74,\\!019", "\\$74,019"),
    ("\\$74,\\!019", "$74,019"),
    ("3.25", "3,25"),                         # decimal comma: two digits after it
    ("2048.5", "2048,5"),                     # decimal comma: four digits before it
    ("0.125", "0,125"),                       # decimal comma: a lone 0 before it
    ("19.99", "19.99€"),
    ("12", "12.0"),
])
def test_number_formats_are_read(gold, pred):
    assert verify(gold, pred), compare(gold, pred)


@pytest.mark.parametrize("gold, pred", [
    ("2500", "2, 500"),                       # comma and space: a list of two numbers
    ("1.5", "1,500"),                         # three digits after the comma: thousands, not a decimal comma
    ("2,5", "2.5"),                           # one digit after the comma: a list, not a decimal comma
    ("74019", "74,018"),
])
def test_ambiguous_or_different_numbers_are_not_equal(gold, pred):
    assert not verify(gold, pred), compare(gold, pred)


@pytest.mark.parametrize("gold, pred, expected", [
    ("4000", "4\\text{ thousand}", True),
    ("4", "4\\text{ thousand}", False),       # a quantity word is not a unit
    ("300", "3 hundred", True),
    ("2500000", "2.5 million", True),
    ("7000000000", "7 billion", True),
    ("36", "3 dozen", True),
    ("3", "3 dozen", False),
    ("9000", "9\\mathrm{k}", True),
    ("9", "9\\mathrm{k}", False),
    ("49", "7 \\text{ squared}", True),
    ("7", "7 \\text{ squared}", False),
    ("8", "2 \\text{ cubed}", True),
    ("4", "4 \\text{ meters}", True),         # a unit word is still only a unit
])
def test_quantity_words_scale_the_number(gold, pred, expected):
    assert verify(gold, pred) is expected, compare(gold, pred)


@pytest.mark.parametrize("gold, pred", [
    (repr(math.sqrt(23)), "\\sqrt{23}"),                     # a 16-digit decimal gold and the exact form
    ("\\sqrt{23}", repr(math.sqrt(23))),                     # and the other way round
    ("0.7853981633974483", "\\frac{\\pi}{4}"),
    ("\\frac{\\pi}{4}", "0.785398163"),                      # a decimal prediction with 9 significant digits
    ("2.414213562", "1 + \\sqrt{2}"),
    ("0.142857142857", "\\frac{1}{7}"),
])
def test_long_decimals_match_the_exact_form(gold, pred):
    assert verify(gold, pred), compare(gold, pred)


@pytest.mark.parametrize("gold, pred", [
    ("\\sqrt{23}", "4.796"),                  # 4 significant digits: a rounding, not the value
    ("\\frac{\\pi}{4}", "0.785"),
    (repr(math.sqrt(23)), "\\sqrt{24}"),
    ("0.7853981633974483", "\\frac{\\pi}{3}"),
    ("0.25", "0.254"),                        # two decimals against three: plain numbers are compared exactly
])
def test_short_or_wrong_decimals_do_not_match(gold, pred):
    assert not verify(gold, pred), compare(gold, pred)


def test_the_reason_names_the_decimal_rule():
    ok, reason = compare(repr(math.sqrt(23)), "\\sqrt{23}")
    assert ok and "decimal" in reason


def test_number_formats_inside_replies():
    assert grade("The total cost is $1 250.", "1250").correct
    assert grade("So the population is 3 million.", "3000000").correct
    assert grade("\\boxed{5\\,000}", "5000").correct
