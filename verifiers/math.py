"""Math answer verification: find the final answer in a response, compare it with the gold answer.

Data flow: response text -> ``extract_answer`` (which part is the final answer?) -> ``verify`` (is it
equal to the gold answer?) -> ``grade`` (reward, reasons) -> ``reward_function`` (TRL style).
Plain-text helpers (free-text statements, number formats, answer shapes, size guards) live in
``rlvr_gym.verifiers.math_forms``; symbolic equivalence is math-verify's, in a worker process.
Measured against the field's own verifier test suites in benchmarks/results/verifier_peers.md.

Extraction rules (``extract_final``)
------------------------------------
1. Thinking is never an answer (``rlvr_gym.verifiers.text.split_thinking``): only text after the LAST
   ``</think>`` counts, and nothing after an unclosed ``<think>`` counts. Answers that appear only
   inside thinking are therefore not found.
2. In the visible text the explicit answer forms are, in order of precedence:
   a. the last ``<answer>...</answer>`` pair (if it holds a ``\\boxed{}``, the boxed value inside it);
   b. the last ``\\boxed{...}`` / ``\\fbox{...}`` (found by brace counting, so ``\\boxed{\\frac{1}{2}}``
      works);
   c. the last ``#### N`` line (GSM8K style).
   A boxed value in the working followed by an answer phrase that states a different value ("... \\boxed{200}
   ... Final Answer: The final answer is 10,455.") is a correction: the stated final answer wins (form
   "phrase"), as a later box would.
3. Free-text replies (no explicit form; format_ok is False). If the visible text holds an explicit-form
   marker that gave no answer (an empty or unclosed box, a bare "####") there is no free-text answer. Otherwise,
   in order:
   a. "phrase": the last answer phrase - "final answer is X", "the answer is X", a line "Answer: X", or
      "Answer" followed by math ("Answer $9$") - and the one value of the sentence it opens. The Minerva /
      lm-eval form "Final Answer: The final answer is $X$. I hope it is correct." gives X.
   b. "bare": the whole reply is an answer - one math span, or math without prose words, or one word
      ("odd"), or a number with at most two unit words ("28 percent").
   c. with ``last_number=True`` (off by default; lm-eval-harness's "flexible extract" for GSM8K) the last
      number of the visible text (form "last_number"). Only the last number counts, so listing numbers
      gains nothing, and a last number joined to the one before it by "or" ("12 or 13") is a hedge.
   d. "statement": the last sentence (of the last three; questions left out) that states a value. A sentence's values are its
      math spans and the numbers written outside them (with their thousands separators, %, and quantity
      words); a span that is only a name ("$n$", "$ABCD$", "$f(x)$") counts only when nothing else does; when
      the sentence has a cue ("is", "are", "=", ":", "so", "we get", "therefore", ...) only the values after
      the last cue count. One value: that is the answer ("Therefore $x \\geq 5$ is the solution." gives
      ``x \\geq 5``; "... the probability that Alice wins is 2/3." gives 2/3). Values joined only by "and"
      or commas are a list answer; joined by "or" they are a hedge; several values otherwise ("5 hours 30
      minutes", "first 6, then 9") state no single answer: no credit.
   Chat-template leftovers (``<|im_start|>user``) and the Minerva sign-off are ignored; only the last 4000
   characters are read for b-d.
4. Hedging gets no credit:
   - several boxes written together at the end ("\\boxed{3} or \\boxed{4}", "\\boxed{3}, \\boxed{4}")
     form one *final group* when only connective text lies between them: spaces, punctuation, $, "or",
     "and", variable names ("x =", "y_2 ="), part labels ("(a)"), and - when "and" joins them and no
     sentence ends between - at most four other short words ("\\boxed{1} papers and \\boxed{2} bins",
     "for part (a) and"). A group with two different values joined by "or" is a hedge; joined otherwise
     the values form a list answer "3, 4" (right only if the gold answer is that list). A box followed by
     more reasoning and a later box is a correction: the last one wins.
   - an answer containing the word "or" (also ``\\text{ or }``, ``\\lor``) is a hedge unless the gold
     answer itself contains "or" or is an unordered answer of several parts (a set, all values of one name, a
     list of tuples: then "x = 1 or x = -1" states that set of solutions);
   - explicit forms that disagree (``\\boxed{3}`` and ``#### 4`` in one response) are a hedge.

Gold answers
------------
``gold_answer`` reduces a GSM8K answer text to its "#### N" value and a long worked solution to its last box.
``compare`` further reads a gold written with boxes as its final group of boxes (every box of a gold written
as one math span; "the solutions are $n = \\boxed{1,-2}$" keeps the name: "n = 1,-2"), and a gold written
as prose (a Minerva reply) like a reply.

Equivalence rules (``verify``)
------------------------------
- Normalised strings equal (``\\dfrac``/``\\tfrac`` -> ``\\frac``, ``\\text{}``/``\\mathrm{}`` unwrapped,
  ``\\left``/``\\right``, spacing commands, ``$``, degree marks, trailing period or backslash, a leading
  ``x =``). Text answers made of words only compare without case ("Yes" = "\\text{yes}").
- Number formats: thousands separators written as "1,000", "1 000", "5\\,000", "14{,}916", "32,\\!348";
  a decimal comma ("1000,99", "1,22", "0,111") only where the comma cannot be a thousands or list
  separator (one comma, no space, and more than three digits before it, a lone 0 before it, or two or more
  digits after it other than exactly three) and the other side is one plain decimal number; currency
  before or after ("\\$32,348", "$5", "1,000.99$", "2,74 €"); percent written "%", "\\%", "percent", "pct".
  A gold "\\$32,\\!348" is matched by 32348, 32,348 and \\$32,348.
- Quantity words scale the number: "7\\text{ thousand}" is 7000 (hundred, thousand, million, billion,
  trillion, dozen, ``\\mathrm{k}``); "5 \\text{ squared}" is 25 and "2 cubed" 8. Simple unit words after a
  number ("5 dollars", "5 cm", "12 apples") are ignored. A value naming two quantities ("5 hours 30
  minutes") is not equal to one of its numbers.
- Plain numbers are compared exactly as fractions (``1/2`` = ``0.5`` = ``\\frac{1}{2}``); when either side
  is written as a decimal with a fractional part a relative tolerance of 1e-6 applies (``0.333333`` =
  ``1/3``; integers never get a tolerance). Percent: "50%" equals a gold 50 and also a gold 0.5 (the same
  quantity); a gold "50%" accepts 50 and 0.5. Two bare numbers are never rescaled (0.5 != 50).
- Decimal vs exact form, both directions: a decimal D written with 7 or more significant digits and an exact
  closed form E (``\\sqrt{17}``, ``\\frac{\\pi}{4}``; evaluated by sympy to 40 digits) are equal when
  ``|D - E| <= max(1e-6 * |D|, half a unit in D's last written place)`` - D is then E rounded, as the
  best graders accept. With fewer significant digits a decimal is a rounding, not the value
  ("0.785" != ``\\frac{\\pi}{4}``; "0.333" != 1/3).
- Equations and names: "x = 5+5+1 = 11" is its last value; "k = 1/3", "f(x) = 1", "|AB| = 1",
  "(p, q) = (3, 2)" are their right sides (a name: letters, subscripts, a function call, |..|, a ratio of
  names); "7 + 5 = 12" (arithmetic without letters = a number) is 12; an approximation after a value
  ("\\frac{\\sqrt3}{3} \\approx 0.577") is commentary, and "x \\approx 11" is 11. A gold that is a real
  equation (``2x + 4y - 3 = 0``, ``7 = 11a + c``) is compared whole by math-verify.
- Several answers and order (``math_forms.shape``): an answer is split into parts at top-level commas,
  semicolons, "and", "or" and ``\\pm`` (never inside brackets, sets, intervals or matrices). Both sides must
  have the same number of parts. The gold decides the order. Parts match in order - a plain list "10, 4, -2", a tuple "(2, 5)"
  (also against the same entries listed "2, 5") and named parts when only one side names them - except
  when the answer is unordered: a set ``\\{...\\}`` (each element counted once), alternatives joined by
  "or", ``a \\pm b``, all values of one name ("a = 4, -8, -10", "p = -1 and p = 15/8"), or a list of
  tuples ("(1, 2), (2, 1)": the set of solutions; each tuple keeps its order). When both sides name every
  part ("a_3 = 2, a_37 = 19") parts match by name. Groups of assignments separated by ";" ("p=5, q=2;
  p=7, q=2") are tuples. The question text is not seen, so an "all solutions" question written as a plain
  list is compared in order.
- Program syntax: ``x**2``, ``5*x``, ``log(x)`` are read as LaTeX (``x^{2}``, ``5 \\cdot x``, ``\\log(x)``);
  a lone capital added as a term of its own that appears nowhere else ("+ C", "+ K") is a constant of
  integration and is dropped from both sides (a gold with one accepts a prediction without one, not the
  reverse); a malformed expression (unbalanced brackets, a trailing operator: "x**2 +", "sin(x") is not
  equal to anything; variables are case-sensitive (math-verify folds case: "X**2" would equal "x**2").
  An expression is never reduced to a number it merely contains.
- Everything else (expressions, intervals, tuples, matrices) goes to math-verify, with the answers wrapped in
  ``$...$``. math-verify reads numbers out of prose and one side of a relation, so a prediction with 3 or more
  prose words the gold lacks, or a relation (``\\neq``, ``<``) against a gold without one, is not equal.
- Inputs too large to evaluate are refused before any sympy work, by a linear scan (``math_forms.too_large``,
  reason "not evaluated (...)"): power towers whose top exponent exceeds 1000 (``9^{9^{9}}``,
  ``10^{10^{10}}``, ``7**7**7**7``), integer powers of more than 100000 digits, factorials beyond 5000!.
  Other heavy work (a ``\\binom`` of huge arguments, hard simplifications) takes the timeout path below.
- math-verify's own timeouts use ``signal.alarm`` (main thread only), so they are switched off and the
  comparison runs in a small persistent worker process (one per concurrent caller, up to 8 or
  $RLVR_MATH_WORKERS, started on first use in ~1-4 s, killed and replaced when it overruns).
  ``verify(..., timeout=t)`` returns False ("timeout") after at most ``t`` seconds of comparison from any
  thread or process, and ``grade(..., timeout=t)`` spends at most ``t`` seconds on all its comparisons
  together (a worker's start and a wait for a free worker are not counted). Answers longer than
  MAX_ANSWER_CHARS are never parsed. Plain numbers and identical texts never reach the worker.

Rewards (``grade``): ``reward = float(correct) + format_weight * format_ok`` (format weight 0 by default,
so the reward is 1.0 or 0.0). ``format_ok`` means an explicit answer form (``<answer>``, ``\\boxed``,
``####``) was found, no hedge, and no unclosed thinking block.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import select
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import Any, Sequence

from rlvr_gym.verifiers import math_forms as _forms
from rlvr_gym.verifiers.text import completion_text, split_thinking

__all__ = [
    "MathGrade",
    "Extraction",
    "extract_final",
    "extract_answer",
    "extract_boxed",
    "normalize_answer",
    "parse_number",
    "verify",
    "compare",
    "grade",
    "gold_answer",
    "reward_function",
    "MAX_ANSWER_CHARS",
    "DEFAULT_TIMEOUT",
]

MAX_ANSWER_CHARS = 2000        # longer extracted answers are never parsed (a hedge or an attack)
MAX_RESPONSE_CHARS = 4_000_000  # longer responses get reward 0 ("response too long") without scanning
MAX_GROUP_BOXES = 20           # a final group of more boxes than this is treated as a hedge
DEFAULT_TIMEOUT = 5.0          # seconds per comparison (math-verify part)

# ----------------------------------------------------------------------------------------------------
# Extraction
# ----------------------------------------------------------------------------------------------------

_BOX_RE = re.compile(r"\\(?:boxed|fbox)\s{0,3}\{")
_BRACE_RE = re.compile(r"\\[{}]|[{}]")
_ANSWER_OPEN_RE = re.compile(r"<\s{0,3}answer\s{0,3}>", re.IGNORECASE)
_ANSWER_CLOSE_RE = re.compile(r"<\s{0,3}/\s{0,3}answer\s{0,3}>", re.IGNORECASE)
_HASHES_RE = re.compile(r"####[ \t]{0,20}([^\n]{0,400})")
_EXPLICIT_MARK_RE = re.compile(r"\\(?:boxed|fbox)\b|<\s{0,3}/?\s{0,3}answer\s{0,3}>|####", re.IGNORECASE)
_CONNECTIVE_WORDS = {"or", "and", "either", "also", "maybe", "possibly", "perhaps", "alternatively"}
_HEDGE_WORDS = {"or", "either"}
_ANY_NUMBER_RE = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?(?:/\d+)?")
_OR_RE = re.compile(r"(?:^|[^a-z\\])or(?:$|[^a-z])|\\lor\b|\\vee\b", re.IGNORECASE)


@dataclass(frozen=True)
class Extraction:
    """What was found in a response.

    answer: the final answer text (None when there is none or it is hedged).
    form: "answer_tag" | "boxed" | "hashes" | "phrase" | "last_number" | None.
    hedged: several different candidate answers were offered.
    candidates: the candidate values seen in the final answer region.
    closed: False when the response ends inside an unclosed <think>.
    """

    answer: str | None
    form: str | None
    hedged: bool = False
    candidates: tuple[str, ...] = ()
    closed: bool = True


def extract_boxed(text: str) -> list[tuple[int, int, str]]:
    """Every ``\\boxed{...}`` / ``\\fbox{...}`` in `text` as (start, end, content), found by brace counting.
    An unclosed box is skipped. Linear in len(text)."""
    out: list[tuple[int, int, str]] = []
    pos = 0
    while True:
        m = _BOX_RE.search(text, pos)
        if m is None:
            return out
        depth = 1
        for brace in _BRACE_RE.finditer(text, m.end()):
            tok = brace.group()
            if len(tok) == 2:                 # escaped brace \{ \} does not count
                continue
            depth += 1 if tok == "{" else -1
            if depth == 0:
                out.append((m.start(), brace.end(), text[m.end():brace.start()].strip()))
                pos = brace.end()
                break
        else:                                 # unclosed: nothing after it can close it either
            return out


def _gap_is_connective(gap: str) -> tuple[bool, bool]:
    """(is the text between two boxes only connective?, does it contain 'or'?) Connective: punctuation, "and",
    "or", variable names ("x =", "y_2 ="), part labels ("(a)"), and, when "and", "," or ";" joins them, at most
    four other short words when "and" joins them and no sentence ends between ("\\boxed{1} papers and \\boxed{2}
    bins", "for part (a) and"); "\\boxed{3}. Oops, it is \\boxed{4}" is a correction, not a list."""
    if len(gap) > 60 or "\n\n" in gap:
        return False, False
    g = re.sub(r"\\(?:text|mathrm|textbf)\{([^{}]{0,40})\}", r" \1 ", gap)
    g = re.sub(r"\\\(|\\\)|\\\[|\\\]|\\q?quad|\\,|\\;|\\ |[$,;:.!?=()]|\\lor|\\vee", " ", g)
    has_or = bool(re.search(r"\\lor|\\vee", gap))
    joined = False
    others = 0
    for word in g.split():
        w = word.lower()
        if w in _CONNECTIVE_WORDS:
            has_or = has_or or w in _HEDGE_WORDS
            joined = joined or w == "and"
        elif re.fullmatch(r"[a-z](?:_\{?\w{1,3}\}?)?", w):    # "x = \boxed{1}, y_2 = \boxed{2}", "(a)"
            continue
        elif re.fullmatch(r"[a-z]{2,12}", w):
            others += 1
        else:
            return False, False
    if others and (others > 4 or not joined or re.search(r"[.!?](?:\s|$)", gap)):
        return False, False
    return True, has_or


def _boxed_group(text: str, all_boxes: list[tuple[int, int, str]] | None = None) -> tuple[list[str], bool] | None:
    """The final group of boxes in `text`: (distinct values in order, joined by 'or'?) or None."""
    boxes = [b for b in (extract_boxed(text) if all_boxes is None else all_boxes) if b[2]]  # \boxed{} answers nothing
    if not boxes:
        return None
    group = [boxes[-1]]
    has_or = False
    for prev in reversed(boxes[-MAX_GROUP_BOXES - 1:-1]):
        ok, gap_or = _gap_is_connective(text[prev[1]:group[0][0]])
        if not ok:
            break
        has_or = has_or or gap_or
        group.insert(0, prev)
    if len(group) > MAX_GROUP_BOXES:          # a wall of boxes is not an answer
        return [content for _, _, content in group[-2:]], True
    values: list[str] = []                 # distinct values, the last writing of each kept
    for _, _, content in reversed(group):
        if not any(_cheap_equal(content, v) for v in values):
            values.insert(0, content)
    return values, has_or


def _clean_phrase(value: str) -> str:
    value = value.strip().strip("*").strip()
    value = re.sub(r"[\s.;]+$", "", value)
    if len(value) >= 2 and value[0] == "$" and value[-1] == "$":
        value = value.strip("$").strip()
    return value


def _left(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


def _candidate_from_group(group: tuple[list[str], bool], deadline: float) -> tuple[str | None, bool, tuple[str, ...]]:
    values, has_or = group
    if len(values) > 1 and has_or:
        # "15\frac{39}{40} or \frac{639}{40}": the same value written twice is not a hedge
        if len(values) == 2 and compare(values[1], values[0], _left(deadline))[0]:
            return values[-1], False, tuple(values)
        return None, True, tuple(values)
    return ", ".join(values), False, tuple(values)


def extract_final(response: Any, *, starts_in_thinking: bool = False, timeout: float = DEFAULT_TIMEOUT,
                  last_number: bool = False) -> Extraction:
    """Find the final answer in a model response (rules in the module docstring). `timeout` bounds the
    rare equivalence checks between candidate answers (two boxes joined by "or"), all together.
    `last_number`: fall back to the last number of the visible text when no answer form is found."""
    deadline = time.monotonic() + timeout
    if isinstance(response, list):          # a chat completion: the last message's content
        response = completion_text(response)
    if not isinstance(response, str) or not response.strip():
        return Extraction(None, None)
    if len(response) > MAX_RESPONSE_CHARS:
        return Extraction(None, None)
    split = split_thinking(response, starts_in_thinking=starts_in_thinking)
    visible = split.answer
    closed = split.closed
    explicit: list[tuple[str, str | None, bool, tuple[str, ...]]] = []  # (form, answer, hedged, cands)

    inner = _last_answer_tag(visible)
    if inner is not None:
        group = _boxed_group(inner)
        if group is not None:
            explicit.append(("answer_tag", *_candidate_from_group(group, deadline)))
        else:
            value = _clean_phrase(inner)
            explicit.append(("answer_tag", value or None, False, (value,) if value else ()))
    visible_boxes = extract_boxed(visible) if "box" in visible else []
    group = _boxed_group(visible, visible_boxes)
    if group is not None:
        explicit.append(("boxed", *_candidate_from_group(group, deadline)))
    hashes = None
    for hashes in _HASHES_RE.finditer(visible):
        pass
    if hashes is not None:
        value = _clean_phrase(hashes.group(1))
        if value:
            explicit.append(("hashes", value, False, (value,)))

    if explicit:
        form, answer, hedged, cands = explicit[0]
        all_cands = list(cands)
        if not hedged:
            for _, other, other_hedged, other_cands in explicit[1:]:
                if other_hedged or (other is not None and not _cheap_equal(answer, other)
                                    and not compare(answer, other, _left(deadline))[0]):
                    hedged = True
                    all_cands.extend(c for c in other_cands if c not in all_cands)
        if hedged:
            return Extraction(None, form, True, tuple(all_cands), closed)
        if form == "boxed" and answer is not None:
            # a boxed value in the working, then a different stated final answer: the final statement wins
            later = _forms.phrase_statement(visible, visible_boxes[-1][1] if visible_boxes else 0)
            if later is not None:
                st = later[1]
                if st.hedged:
                    return Extraction(None, "phrase", True, tuple(all_cands), closed)
                if st.value is not None and not _cheap_equal(answer, st.value) \
                        and not compare(answer, st.value, _left(deadline))[0]:
                    return Extraction(st.value, "phrase", False, (answer, st.value), closed)
        # An answer with "or" inside it is kept here and judged against the gold answer by compare().
        return Extraction(answer, form, False, tuple(all_cands), closed)

    if _EXPLICIT_MARK_RE.search(visible):
        # an explicit answer form that gave no answer (an empty or unclosed box, a bare "####"): no free-text answer
        return _last_number(visible, closed) if last_number else Extraction(None, None, closed=closed)
    tail = _forms.clean_tail(visible)
    found = _forms.phrase_statement(visible)
    if found is not None:
        st = found[1]
        if st.value is not None or st.hedged or st.several:
            return _from_statement(st, "phrase", closed)
    bare = _forms.bare_answer(tail)
    if bare is not None:
        value = _clean_phrase(bare)
        if value:
            return Extraction(value, "bare", False, (value,), closed)
    if last_number:
        return _last_number(visible, closed)
    st = _forms.final_statement(tail)
    if st.value is not None or st.hedged or st.several:
        return _from_statement(st, "statement", closed)
    return Extraction(None, None, closed=closed)


def _from_statement(st: "_forms.Statement", form: str, closed: bool) -> Extraction:
    if st.hedged:
        return Extraction(None, form, True, (), closed)
    if st.value is None:                       # several values and no single one stated: no answer
        return Extraction(None, form, False, (), closed)
    value = _clean_phrase(st.value)
    return Extraction(value or None, form, False, (value,) if value else (), closed)


def _last_number(visible: str, closed: bool) -> Extraction:
    """The last number of the text (only its tail is scanned); two different numbers joined by "or" at the end are
    a hedge, by the same connective rule as two boxes ("12 or 13", "12, or 13", "$12$ \\lor $13$")."""
    tail = visible[-MAX_ANSWER_CHARS * 10:]
    numbers = list(_ANY_NUMBER_RE.finditer(tail))
    if not numbers:
        return Extraction(None, None, closed=closed)
    value = numbers[-1].group(0).replace(",", "")
    if len(numbers) > 1:
        prev = numbers[-2].group(0).replace(",", "")
        connective, has_or = _gap_is_connective(tail[numbers[-2].end():numbers[-1].start()])
        if prev != value and connective and has_or:
            return Extraction(None, "last_number", True, (prev, value), closed)
    return Extraction(value, "last_number", False, (value,), closed)


def _last_answer_tag(text: str) -> str | None:
    """Content of the last <answer>...</answer> pair (linear: last close, then the last open before it)."""
    close = None
    for close in _ANSWER_CLOSE_RE.finditer(text):
        pass
    if close is None:
        return None
    opening = None
    for opening in _ANSWER_OPEN_RE.finditer(text, 0, close.start()):
        pass
    return None if opening is None else text[opening.end():close.start()]


def extract_answer(response: Any, *, starts_in_thinking: bool = False) -> str | None:
    """The final answer text of a response, or None (no answer, or a hedge)."""
    return extract_final(response, starts_in_thinking=starts_in_thinking).answer


# ----------------------------------------------------------------------------------------------------
# Normalisation and the fast numeric path
# ----------------------------------------------------------------------------------------------------

_TEXT_CMD_RE = re.compile(r"\\(?:text|textbf|textit|textnormal|mathrm|mathbf|mbox|operatorname|emph)\s{0,2}\{([^{}]{0,500})\}")
_PLAIN_TOKEN_RE = re.compile(r"[-+]?[0-9A-Za-z][0-9A-Za-z./]{0,40}")
_SPACING_RE = re.compile(r"(?<!\\)\\[,;:! ]|\\q?quad\b|~")
_DEGREE_RE = re.compile(r"\^\s{0,2}\{?\s{0,2}\\circ\s{0,2}\}?|°|\\degree\b")
_LEADING_VAR_RE = re.compile(r"^[a-zA-Z](?:_\{?\w{1,3}\}?)?\s{0,3}=\s{0,3}(?=\S)")
_NUMBER_RE = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?$")
_THOUSANDS_RE = re.compile(r"^[+-]?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?$")
_FRAC_RE = re.compile(r"^([+-]?)\\frac\s{0,2}\{\s{0,2}([+-]?\d{1,50})\s{0,2}\}\s{0,2}\{\s{0,2}(\d{1,50})\s{0,2}\}$")
_MIXED_RE = re.compile(r"^([+-]?)(\d{1,20})\s{0,2}\\frac\s{0,2}\{(\d{1,20})\}\s{0,2}\{(\d{1,20})\}$")
_FRAC_SHORT_RE = re.compile(r"^([+-]?)\\frac(\d)(\d)$")
_SLASH_RE = re.compile(r"^([+-]?\d{1,50})\s{0,2}/\s{0,2}(\d{1,50})$")
_CURRENCY_TAIL_RE = re.compile(r"\s{0,2}(?:\\\$|\$|€|£|¥|usd|eur)$", re.IGNORECASE)
_PERCENT_WORD_RE = re.compile(r"\s{0,2}(?:percent(?:age)?|per cent|pct)$", re.IGNORECASE)
_CURRENCY_RE = re.compile(r"^(?:\\\$|\$|usd|us\$|€|£|¥|rs\.?|inr)\s{0,2}", re.IGNORECASE)
_UNIT_TAIL_RE = re.compile(r"^(.*?\d\.?)\s{0,3}((?:[a-zA-Z]{1,20}\.?(?:\^\{?[23]\}?|[23])?(?:\s{0,3}/\s{0,3}|\s{1,3})?){1,4})$")
_KNOWN_UNITS = {
    "m", "g", "s", "h", "l", "cm", "mm", "km", "kg", "mg", "lb", "lbs", "oz", "ft", "in", "yd", "mi",
    "ml", "hr", "hrs", "min", "mins", "sec", "secs", "mph", "kph", "usd", "eur", "pm", "am",
}


def _unwrap(s: str) -> str:
    """`s` without up to three outer layers of $...$, \\(...\\), \\[...\\] and \\boxed{...} / \\fbox{...}."""
    for _ in range(3):
        t = s
        if len(s) >= 2 and s[0] == "$" and s[-1] == "$":
            s = s.strip("$").strip()
        if s.startswith("\\(") and s.endswith("\\)") or s.startswith("\\[") and s.endswith("\\]"):
            s = s[2:-2].strip()
        m = re.match(r"^\\(?:boxed|fbox)\s{0,2}\{(.*)\}$", s, re.DOTALL)
        if m:
            s = m.group(1).strip()
        if s == t:
            break
    return s


def normalize_answer(answer: str) -> str:
    """A comparison key for an answer: LaTeX presentation stripped, case kept. Idempotent."""
    s = answer.strip()
    if len(s) > MAX_ANSWER_CHARS:
        return s
    if _PLAIN_TOKEN_RE.fullmatch(s):           # "18", "-3.5", "odd": nothing to strip but a final period
        return s.rstrip(".")
    s = _unwrap(s)
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").replace("\\cfrac", "\\frac")
    s = s.replace("\\left", "").replace("\\right", "").replace("\\displaystyle", "")
    s = _TEXT_CMD_RE.sub(lambda m: m.group(1), s)
    s = _TEXT_CMD_RE.sub(lambda m: m.group(1), s)  # nested once
    s = _forms.clean_number_text(s)               # "14{,}916", "32,\\!348" before "\\!" becomes a space
    s = _SPACING_RE.sub(" ", s)
    s = _DEGREE_RE.sub("", s)
    s = s.replace("\\%", "%").replace("\\$", "$").replace("\u2212", "-").replace("\\cdot", "*").replace("\\times", "*")
    s = re.sub(r"\s+", " ", s).strip()
    s = re.sub(r"[\s.;,\\]+$", "", s)
    s = _LEADING_VAR_RE.sub("", s) if s.count("=") == 1 else s
    if re.fullmatch(r"\(([A-Ea-e])\)", s):      # multiple choice "(C)" -> "C"
        s = s[1]
    return s.strip()


@dataclass(frozen=True)
class _Num:
    value: Fraction
    decimal: bool   # written with a fractional decimal part (tolerance applies)
    percent: bool


def parse_number(answer: str) -> Fraction | None:
    """The exact value of an answer that is a plain number (int, decimal, fraction, percent, with
    thousands separators, currency or unit words), else None."""
    num = _parse_num(normalize_answer(answer))
    return None if num is None else num.value


def _parse_num(s: str, *, allow_units: bool = True) -> _Num | None:
    if not s or len(s) > MAX_ANSWER_CHARS:
        return None
    s = _CURRENCY_RE.sub("", s).strip()
    s = _CURRENCY_TAIL_RE.sub("", s).strip()
    percent = False
    if s.endswith("%"):
        percent, s = True, s[:-1].strip()
    elif _PERCENT_WORD_RE.search(s):
        percent, s = True, _PERCENT_WORD_RE.sub("", s).strip()
    s = re.sub(r"^([+-])\s+", r"\1", s)
    if _THOUSANDS_RE.match(s):
        s = s.replace(",", "")
    elif (spaced := _forms.space_thousands(s)) is not None:
        s = spaced
    if s.startswith("{") and s.endswith("}"):
        s = s[1:-1]
    if _NUMBER_RE.match(s):
        mantissa = s.split("e")[0].split("E")[0]
        decimal = "." in mantissa and mantissa.rstrip("0").split(".")[-1] != ""
        return _Num(Fraction(s), decimal, percent)
    m = _FRAC_RE.match(s) or _FRAC_SHORT_RE.match(s)
    if m:
        sign, a, b = m.groups()
        if int(b) == 0:
            return None
        v = Fraction(int(a), int(b))
        return _Num(-v if sign == "-" else v, False, percent)
    m = _MIXED_RE.match(s)
    if m:                                     # a mixed number 15\frac{39}{40} (proper fraction part)
        sign, whole, a, b = m.groups()
        if 0 < int(a) < int(b):
            v = int(whole) + Fraction(int(a), int(b))
            return _Num(-v if sign == "-" else v, False, percent)
        return None
    m = _SLASH_RE.match(s)
    if m:
        a, b = m.groups()
        if int(b) == 0:
            return None
        return _Num(Fraction(int(a), int(b)), False, percent)
    if allow_units and not percent and len(s) <= 120:
        m = _UNIT_TAIL_RE.match(s)
        if m:
            words = [w.lower() for w in re.findall(r"[a-zA-Z]+", m.group(2))]
            if words and words[0] in _forms.QUANTITY_WORDS or words and words[0] in _forms.POWER_WORDS:
                # "7 thousand" is 7000, "2 dozen" 24, "5 squared" 25: quantity words are not units
                num = _parse_num(m.group(1).strip(), allow_units=False)
                if num is None or len(words) > 1 and not all(_is_unit(w) for w in words[1:]):
                    return None
                if words[0] in _forms.POWER_WORDS:
                    return _Num(num.value ** _forms.POWER_WORDS[words[0]], num.decimal, percent)
                return _Num(num.value * _forms.QUANTITY_WORDS[words[0]], num.decimal, percent)
            if _is_unit(m.group(2)):
                return _parse_num(m.group(1).strip(), allow_units=False)
    return None


def _is_unit(tail: str) -> bool:
    words = re.findall(r"[a-zA-Z]+", tail)
    if not words or any(w.lower() in _HEDGE_WORDS for w in words):
        return False
    return all(w.lower() in _KNOWN_UNITS or len(w) >= 3 for w in words)


def _num_equal(a: _Num, b: _Num) -> bool:
    va, vb = a.value, b.value
    if va == vb:
        return True
    if a.decimal or b.decimal:
        scale = max(abs(va), abs(vb))
        return abs(va - vb) <= Fraction(1, 10**6) * scale
    return False


def _numbers_match(gold: _Num, pred: _Num) -> bool:
    if _num_equal(gold, pred):
        return True
    if gold.percent != pred.percent:        # "50%" vs 0.5: the same quantity written two ways
        scaled = _Num(pred.value / 100, pred.decimal, False) if pred.percent else _Num(pred.value * 100, pred.decimal, False)
        return _num_equal(gold, scaled) if pred.percent else _num_equal(_Num(gold.value / 100, gold.decimal, False), pred)
    return False


def _cheap_equal(a: str | None, b: str | None) -> bool:
    """Equal without math-verify: same normalised text or the same plain number."""
    if a is None or b is None:
        return a is b
    na, nb = normalize_answer(a), normalize_answer(b)
    if na == nb or na.casefold() == nb.casefold():
        return True
    xa, xb = _parse_num(na), _parse_num(nb)
    return xa is not None and xb is not None and _numbers_match(xa, xb)


# ----------------------------------------------------------------------------------------------------
# The math-verify worker (a persistent subprocess with a hard deadline)
# ----------------------------------------------------------------------------------------------------

# The worker is a self-contained script (it does not import rlvr_gym, so it starts without gymnasium/numpy):
# one JSON request per stdin line, one JSON reply per stdout line; it exits when stdin closes.
_WORKER_SOURCE = r"""
import json, logging, re, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)      # Ctrl-C is the parent's business
logging.disable(logging.WARNING)
out = sys.stdout
try:
    from math_verify import parse as mv_parse, verify as mv_verify
except Exception as exc:
    out.write(json.dumps({"ready": False, "error": "math-verify unavailable: %s" % exc}) + "\n")
    out.flush()
    sys.exit(0)

def partial(parsed):
    # math-verify can stop reading part-way ("1 - \\frac{1}{" of "1 - \\frac{1}{\\mathrm{e}}", "3 \\cdot" of
    # "3 \\cdot \\text{base}"): a match with unbalanced braces or ending in an operator is not the answer
    if len(parsed) < 2 or not isinstance(parsed[1], str):
        return False
    m = parsed[1].strip()
    return m.count("{") != m.count("}") or bool(re.search(r"(?:[-+*/^=,(]|\\(?:cdot|times|frac|sqrt|div))\s*$", m))

def wrap(s):
    s = s.strip()
    return s if ("$" in s or s.startswith("\\(") or s.startswith("\\[")) else "$" + s + "$"

# Warm up before saying ready: the first parse loads the LaTeX grammar and sympy's lazy modules (~1 s),
# which must not count against the first caller's timeout.
mv_verify(mv_parse("$\\frac{1}{2}+x$", parsing_timeout=None), mv_parse("$(1,2]$", parsing_timeout=None),
          timeout_seconds=None)
out.write(json.dumps({"ready": True}) + "\n")
out.flush()
gold_cache = {}
for line in sys.stdin:
    try:
        req = json.loads(line)
        gold = req.get("gold", "0")
        g = gold_cache.get(gold)
        if g is None:
            g = mv_parse(wrap(gold), parsing_timeout=None)
            if len(gold_cache) > 2048:
                gold_cache.clear()
            gold_cache[gold] = g
        p = mv_parse(wrap(req["pred"]), parsing_timeout=None)
        if partial(p) or partial(g):
            p = []
        if "value" in req:                        # numeric mode: |N(pred) - value| <= tol
            from fractions import Fraction
            import sympy
            value, tol = Fraction(req["value"]), Fraction(req["tol"])
            ok = False
            for expr in p[:1]:
                num = sympy.N(expr, 40)
                if num.is_real and num.is_finite:
                    ok = abs(Fraction(str(sympy.Float(num, 40))) - value) <= tol
            reply = {"ok": ok, "parsed": bool(p)}
        else:
            ok = bool(g) and bool(p) and bool(mv_verify(g, p, timeout_seconds=None))
            reply = {"ok": ok, "parsed": bool(g) and bool(p)}
    except Exception as exc:                       # a bad expression is just "not equal"
        reply = {"ok": False, "error": ("%s: %s" % (type(exc).__name__, exc))[:300]}
    out.write(json.dumps(reply) + "\n")
    out.flush()
"""


class _Worker:
    def __init__(self, startup_timeout: float = 60.0):
        env = dict(os.environ)
        env.setdefault("PYTHONHASHSEED", "0")
        # the child must import this package the way the parent did (installed or from a source path)
        env["PYTHONPATH"] = os.pathsep.join([p for p in sys.path if p] + [env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _WORKER_SOURCE],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, bufsize=0,
        )
        self.buf = b""
        ready = self._read_line(startup_timeout)
        if ready is None:
            self.kill()
            raise RuntimeError("the math-verify worker did not start")
        msg = json.loads(ready)
        if not msg.get("ready"):
            self.kill()
            raise ImportError(msg.get("error", "math-verify unavailable") + " (pip install math-verify)")

    def _read_line(self, timeout: float) -> bytes | None:
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:                     # the worker died
                return None
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line

    def ask(self, gold: str, pred: str, timeout: float, **extra: str) -> dict | None:
        try:
            self.proc.stdin.write((json.dumps({"gold": gold, "pred": pred, **extra}) + "\n").encode())
        except (BrokenPipeError, OSError):
            return None
        line = self._read_line(timeout)
        return None if line is None else json.loads(line)

    def kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.wait(timeout=5)
        except Exception:  # noqa: BLE001
            pass


class _WorkerPool:
    """Idle workers are reused; a caller that finds none idle starts one (up to max_workers)."""

    def __init__(self, max_workers: int = 4):
        self.max_workers = max_workers
        self.lock = threading.Condition()
        self.idle: list[_Worker] = []
        self.total = 0
        self.pid = os.getpid()
        self.unavailable: str | None = None

    def _check_fork(self) -> None:
        if os.getpid() != self.pid:           # inherited across fork: those pipes belong to the parent
            self.idle, self.total, self.pid = [], 0, os.getpid()

    def acquire(self) -> _Worker:
        with self.lock:
            self._check_fork()
            while True:
                while self.idle:
                    worker = self.idle.pop()
                    if worker.proc.poll() is None:
                        return worker
                    self.total -= 1               # died while idle (killed from outside): drop it
                if self.total < self.max_workers:
                    break
                self.lock.wait()
            self.total += 1
        try:
            return _Worker()
        except BaseException:
            with self.lock:
                self.total -= 1
                self.lock.notify()
            raise

    def release(self, worker: _Worker, healthy: bool) -> None:
        with self.lock:
            if os.getpid() != self.pid:
                return
            if healthy:
                self.idle.append(worker)
            else:
                self.total -= 1
            self.lock.notify()
        if not healthy:
            worker.kill()

    def close(self) -> None:
        with self.lock:
            if os.getpid() != self.pid:
                return
            workers, self.idle = self.idle, []
            self.total -= len(workers)
        for w in workers:
            w.kill()


def _max_workers() -> int:
    try:
        return max(1, int(os.environ.get("RLVR_MATH_WORKERS", "8")))
    except ValueError:
        return 8


_POOL = _WorkerPool(max_workers=_max_workers())
atexit.register(_POOL.close)


def shutdown_workers() -> None:
    """Stop the idle math-verify worker processes (they also stop when this process exits)."""
    _POOL.close()


def _math_verify_numeric(expr: str, value: Fraction, tol: Fraction, timeout: float) -> tuple[bool, str]:
    """Is the numeric value of `expr` (parsed by math-verify, evaluated by sympy to 40 digits) within `tol` of
    `value`? For a decimal written with 7 or more significant digits against an exact form (4.123105625617661 and
    \\sqrt{17})."""
    scaled = tol if tol > abs(value) / 10**6 else abs(value) / 10**6
    ok, why = _math_verify("0", expr, timeout, value=str(value), tol=str(scaled))
    return (True, "equal value (decimal of an exact form)") if ok else (ok, why)


def _math_verify(gold: str, pred: str, timeout: float, _retry: bool = False, **extra: str) -> tuple[bool, str]:
    if _POOL.unavailable:
        return False, _POOL.unavailable
    try:
        worker = _POOL.acquire()
    except ImportError as exc:
        _POOL.unavailable = f"not equal (math-verify unavailable: {exc})"
        return False, _POOL.unavailable
    except RuntimeError as exc:
        return False, f"error ({exc})"
    reply = worker.ask(gold, pred, timeout, **extra)
    if reply is None and worker.proc.poll() is not None and not _retry:
        _POOL.release(worker, healthy=False)      # it died (killed from outside), it did not overrun: once more
        return _math_verify(gold, pred, timeout, _retry=True, **extra)
    if reply is None:
        died = worker.proc.poll() is not None
        _POOL.release(worker, healthy=False)
        return False, "error (math-verify worker died)" if died else "timeout"
    _POOL.release(worker, healthy=True)
    if reply.get("ok"):
        return True, "equivalent (math-verify)"
    if "error" in reply:
        return False, f"not equal (math-verify: {reply['error'][:80]})"
    return False, "not equal" if reply.get("parsed") else "not equal (unparsable)"


# ----------------------------------------------------------------------------------------------------
# Comparison, grading, TRL reward
# ----------------------------------------------------------------------------------------------------


def _as_text(value: Any, name: str) -> str:
    if isinstance(value, bool) or value is None:
        raise TypeError(f"{name} must be a str or a number, got {value!r}")
    if isinstance(value, float):
        return repr(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (int, Fraction)):
        return str(value)
    if isinstance(value, str):
        return value
    raise TypeError(f"{name} must be a str or a number, got {type(value).__name__}")


def compare(gold: Any, predicted: Any, timeout: float = DEFAULT_TIMEOUT) -> tuple[bool, str]:
    """(equal?, reason). gold/predicted: answer strings (or numbers); never raises on odd predictions."""
    gold_s = _as_text(gold, "gold")
    if predicted is None:
        return False, "no answer"
    try:
        pred_s = _as_text(predicted, "predicted")
    except TypeError:
        return False, f"not an answer ({type(predicted).__name__})"
    if not pred_s.strip():
        return False, "empty answer"
    if len(pred_s) > MAX_ANSWER_CHARS:
        return False, f"answer too long ({len(pred_s)} chars)"
    if gold_s.strip() == pred_s.strip():
        return True, "equal"                     # the same text (the common case in RL): no further work
    deadline = time.monotonic() + timeout
    gold_s = _gold_value(gold_s)
    ng, np_ = normalize_answer(gold_s), normalize_answer(pred_s)
    if ng == np_ or (ng and ng.casefold() == np_.casefold() and _is_plain_text(ng)):
        return True, "equal"
    if _OR_RE.search(np_) and not _OR_RE.search(ng) and not _solution_set(gold_s):
        return False, "hedged (answer contains 'or')"
    if len(gold_s) > MAX_ANSWER_CHARS:
        return False, "gold answer too long to parse"
    xg, xp = _parse_num(ng), _parse_num(np_)
    if xg is not None and xp is not None:                 # plain numbers: exact, no sympy
        return (True, "equal number") if _numbers_match(xg, xp) else (False, "different number")
    if (xg is not None) + (xp is not None) + bool(_forms.decimal_comma(ng) or _forms.decimal_comma(np_)) >= 2:
        return _compare_one(gold_s, pred_s, deadline)    # "1000,99" against 1000.99: one number, not a list
    for side in (pred_s, gold_s):
        why = _forms.too_large(side)
        if why:
            return False, f"not evaluated ({why})"
    gp, pp = _prepare(gold_s), _prepare(pred_s)
    equation = _forms.is_equation(gp) and gp.count("=") == 1
    gshape, pshape = _forms.shape(gp, gold_is_equation=equation), _forms.shape(pp, gold_is_equation=equation)
    if gshape.several or pshape.several:
        return _compare_parts(gshape, pshape, deadline)
    return _compare_one(gshape.items[0] if gshape.items else gp, pshape.items[0] if pshape.items else pp, deadline)


def _solution_set(gold_s: str) -> bool:
    """Is the gold an unordered answer of several parts (a set, all values of one name, a list of tuples)?"""
    gp = _prepare(gold_s)
    sh = _forms.shape(gp, gold_is_equation=_forms.is_equation(gp))
    return sh.several and not sh.ordered


def _is_plain_text(s: str) -> bool:
    """Words only (no math operators): "Yes", "odd", "Evelyn" compare without case."""
    return bool(re.fullmatch(r"[A-Za-z][A-Za-z ,.'-]*", s))


def _compare_parts(gold: "_forms.Shape", pred: "_forms.Shape", deadline: float) -> tuple[bool, str]:
    """Several parts on either side: the same number of parts, each equal. Named parts (a_3 = 2, a_37 = 19) match by
    name when both sides name all parts; otherwise parts match in order, unless the gold answer is unordered (a set,
    a solution set, alternatives, a list of tuples), when each gold part needs its own equal predicted part."""
    if len(gold.items) != len(pred.items):
        # a tuple against a plain list of the same entries: "(1, 3)" and "1, 3" (in order)
        g_t = _forms.tuple_items(gold.items[0]) if len(gold.items) == 1 and pred.ordered else None
        p_t = _forms.tuple_items(pred.items[0]) if len(pred.items) == 1 and gold.ordered else None
        if g_t is not None or p_t is not None:
            g_items = g_t if g_t is not None else list(gold.items)
            p_items = p_t if p_t is not None else list(pred.items)
            return _compare_parts(_forms.Shape(tuple(g_items), (None,) * len(g_items), True),
                                  _forms.Shape(tuple(p_items), (None,) * len(p_items), True), deadline)
        return False, f"different number of answers ({len(pred.items)} for {len(gold.items)})"
    if all(gold.labels) and all(pred.labels) and sorted(gold.labels) == sorted(pred.labels) \
            and len(set(gold.labels)) == len(gold.labels):
        by_name = dict(zip(pred.labels, pred.items))
        for label, item in zip(gold.labels, gold.items):
            if not _compare_one(item, by_name[label], deadline)[0]:
                return False, f"not equal ({label})"
        return True, "equal parts (by name)"
    if gold.ordered:                          # an ordered gold is matched in order, however the prediction is written
        for i, (g, p) in enumerate(zip(gold.items, pred.items)):
            ok, why = _compare_one(g, p, deadline)
            if not ok:
                return False, f"part {i + 1} {why}" if why == "timeout" else f"part {i + 1} not equal ({why})"
        return True, "equal parts (in order)"
    free = list(pred.items)
    pending = []
    for g in gold.items:                     # first the parts equal without sympy (same text, same numbers)
        match = next((k for k, p in enumerate(free) if _cheap_part_equal(g, p)), None)
        if match is None:
            pending.append(g)
        else:
            free.pop(match)
    for g in pending:
        match = next((k for k, p in enumerate(free) if _compare_one(g, p, deadline)[0]), None)
        if match is None:
            return False, "not equal (a part has no equal)" if time.monotonic() < deadline else "timeout"
        free.pop(match)
    return True, f"equal parts (unordered: {gold.reason or pred.reason})"


def _number_tuple(s: str) -> tuple["_Num", ...] | None:
    """The entries of a tuple of plain numbers "(3, -1, 2.5)", else None."""
    entries = _forms.tuple_items(s)
    if entries is None:
        return None
    nums = tuple(_parse_num(normalize_answer(e)) for e in entries)
    return None if any(n is None for n in nums) else nums


def _cheap_part_equal(g: str, p: str) -> bool:
    if _cheap_equal(g, p):
        return True
    gt, pt = _number_tuple(g), _number_tuple(p)
    return gt is not None and pt is not None and len(gt) == len(pt) and all(map(_num_equal, gt, pt))


def _compare_one(gold_s: str, pred_s: str, deadline: float) -> tuple[bool, str]:
    """One gold value against one predicted value."""
    ng, np_ = normalize_answer(gold_s), normalize_answer(pred_s)
    if ng == np_ or (ng and ng.casefold() == np_.casefold() and _is_plain_text(ng)):
        return True, "equal"
    gt, pt = _number_tuple(gold_s), _number_tuple(pred_s)
    if gt is not None and pt is not None:        # tuples of plain numbers: entry by entry, in order, no sympy
        same = len(gt) == len(pt) and all(map(_num_equal, gt, pt))
        return (True, "equal tuple") if same else (False, "different tuple")
    if _OR_RE.search(np_) and not _OR_RE.search(ng):
        return False, "hedged (answer contains 'or')"
    xg, xp = _parse_num(ng), _parse_num(np_)
    if xg is not None and xp is None and _forms.decimal_comma(np_) and xg.decimal:
        xp = _parse_num(_forms.decimal_comma(np_))
    if xp is not None and xg is None and _forms.decimal_comma(ng) and xp.decimal:
        xg = _parse_num(_forms.decimal_comma(ng))
    if xg is not None and xp is not None:
        return (True, "equal number") if _numbers_match(xg, xp) else (False, "different number")
    if xg is not None and not re.search(r"[\d\\]", np_):
        return False, "not a number"             # "Evelyn" vs 42: no need for sympy
    if _SEVERAL_QUANTITIES_RE.search(np_) and not _SEVERAL_QUANTITIES_RE.search(ng):
        return False, "not equal (several quantities, not one value)"
    # math-verify reads numbers out of prose ("probably 5 because of symmetry" -> 5) and takes one side of a
    # relation ("\neq 5" -> 5): a final answer is neither, unless the gold answer is too.
    extra_words = set(_prose_words(np_)) - set(_prose_words(ng))
    if len(extra_words) >= 3:
        return False, "not equal (prose, not a final answer)"
    if _RELATION_RE.search(np_) and not _RELATION_RE.search(ng):
        return False, "not equal (a relation, not a value)"
    g_expr, p_expr = gold_s, pred_s
    if _forms.is_program_syntax(g_expr) or _forms.is_program_syntax(p_expr):
        g_expr, p_expr = _forms.program_to_latex(g_expr), _forms.program_to_latex(p_expr)
    g_expr, g_const = _forms.integration_constant(g_expr)
    p_expr, p_const = _forms.integration_constant(p_expr)
    if g_const is None and p_const is not None:
        p_expr = p_expr + " + " + p_const                   # a constant the gold answer does not have
    if _forms.malformed(p_expr):
        return False, "not equal (malformed expression)"
    gv, pv = _variables(g_expr), _variables(p_expr)
    if gv != pv and {v.lower() for v in gv} == {v.lower() for v in pv}:
        return False, "not equal (variables differ in case)"     # math-verify folds case: x and X would be one
    if xg is not None and not xg.percent:
        if xg.decimal and (tol := _forms.decimal_exact_tolerance(_plain_decimal(ng))) is not None:
            return _math_verify_numeric(p_expr, xg.value, tol, _left(deadline))
        g_expr = str(xg.value)                   # "5 dollars" / "1,000" -> a number sympy can read
    elif xp is not None and xp.decimal and not xp.percent \
            and (tol := _forms.decimal_exact_tolerance(_plain_decimal(np_))) is not None:
        return _math_verify_numeric(g_expr, xp.value, tol, _left(deadline))
    if _left(deadline) <= 0:
        return False, "timeout"
    return _math_verify(g_expr, p_expr, _left(deadline))


_FUNCTION_WORDS_RE = re.compile(r"\\[a-zA-Z]+|\b(?:sin|cos|tan|cot|sec|csc|log|ln|exp|sqrt|arcsin|arccos|arctan|sinh|cosh|"
                                r"tanh|lim|max|min|gcd|lcm|mod|det)\b|\{[^{}]*\}(?=\s*\{)")


def _variables(expr: str) -> set[str]:
    """The letters an expression uses as variables (LaTeX command and function names left out)."""
    return set(re.findall(r"[A-Za-z]", _FUNCTION_WORDS_RE.sub(" ", expr)))


_SEVERAL_QUANTITIES_RE = re.compile(r"\d\s*[a-zA-Z]{2,}\.?\s+[-+]?\d")


def _plain_decimal(s: str) -> str:
    m = re.search(r"[+-]?\d[\d,]*\.\d+", s)
    return m.group().replace(",", "") if m else s


def _gold_value(gold_s: str) -> str:
    """The answer a gold string states: a gold written with boxes is its final group of boxes ("\\boxed{1} and
    \\boxed{2}" -> "1, 2"); a gold written as prose (a worked solution, a Minerva reply) is read like a reply."""
    if len(gold_s) > MAX_ANSWER_CHARS * 10 or (len(gold_s) < 40 and " " not in gold_s and "box" not in gold_s):
        return gold_s
    if ("boxed" in gold_s or "fbox" in gold_s) and not extract_boxed(gold_s):
        m = re.match(r"^\s*\$?\s*\\+(?:boxed|fbox)\s{0,2}\{", gold_s)
        if m:                              # a gold whose only box is unclosed (a dataset artefact): its content
            return gold_s[m.end():].strip().rstrip("$").strip()
    if "boxed" in gold_s or "fbox" in gold_s:
        spans = _forms.math_spans(gold_s)
        if len(spans) == 1 and spans[0][0] == 0 and not gold_s[spans[0][1]:].strip(" .") \
                and len(extract_boxed(spans[0][2])) > 1:
            # a gold written as one math span with several boxes: every box is part of the answer
            return ", ".join(b[2] for b in extract_boxed(spans[0][2]) if b[2])
        group = _boxed_group(gold_s)
        if group is not None:
            values, has_or = group
            value = (" or " if has_or else ", ").join(values)
            first = [b for b in extract_boxed(gold_s) if b[2]][-len(values)] if len(values) == 1 else None
            if first is not None:
                # "the solutions are $n = \\boxed{1,-2}$": the name in front of the box says what the values are
                name = re.search(r"(?<![\\\w])([A-Za-z](?:_\{?\w{1,3}\}?)?)\s{0,2}=\s{0,2}$", gold_s[max(0, first[0] - 20):first[0]])
                if name and "," in value:
                    return f"{name.group(1)} = {value}"
            return value
    if _forms.bare_answer(gold_s) is None:
        ex = extract_final(gold_s)
        if ex.answer is not None:
            return ex.answer
    return gold_s


_ROMAN_CONSTANT_RE = re.compile(r"\\(?:mathrm|text|rm)\s{0,2}\{\s{0,2}([eid])\s{0,2}\}")


def _prepare(answer: str) -> str:
    """An answer made ready for splitting and for math-verify: outer $..$ / \\(..\\) / \\boxed{..} removed, spacing,
    \\left/\\right, \\dfrac, LaTeX thousands separators and relation spellings unified; math otherwise untouched."""
    s = answer.strip()
    s = _unwrap(s)
    s = re.sub(r"(?<!\\)\\\\(?=(?:frac|dfrac|tfrac|sqrt|text|pi|cdot|times)\b)", r"\\", s)   # "\\dfrac" -> "\dfrac"
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").replace("\\cfrac", "\\frac")
    s = s.replace("\\left", "").replace("\\right", "").replace("\\displaystyle", "")
    s = s.replace("{bmatrix}", "{pmatrix}")                # the bracket style of a matrix is presentation
    s = _ROMAN_CONSTANT_RE.sub(r"\1", s)                   # \mathrm{e}: math-verify stops reading at it
    s = re.sub(r"\\lt\b", "<", s)
    s = re.sub(r"\\gt\b", ">", s)
    s = _forms.clean_number_text(s)
    s = _forms.relation_free(s)
    s = re.sub(r"\\q?quad\b|(?<!\\)\\[,;: ]|~", " ", s)
    s = re.sub(r"\s+", " ", s).strip()
    s = re.sub(r"[\s.;,\\]+$", "", s)
    return s


_WORD_RE = re.compile(r"(?<![\\a-zA-Z])[a-zA-Z]{3,}")
_RELATION_RE = re.compile(r"\\(?:neq|ne|leq?|geq?|lt|gt|approx|sim)\b|[<>≠≤≥]")


def _prose_words(text: str) -> list[str]:
    """Plain words of 3+ letters (not LaTeX command names)."""
    return [w.lower() for w in _WORD_RE.findall(text)]


def verify(gold: Any, predicted: Any, timeout: float = DEFAULT_TIMEOUT) -> bool:
    """Is `predicted` (an extracted answer) equivalent to `gold`? False after `timeout` seconds."""
    return compare(gold, predicted, timeout)[0]


@dataclass(frozen=True)
class MathGrade:
    """The grade of one response. reward = float(correct) + format_weight * format_ok."""

    reward: float
    extracted: str | None
    gold: str
    correct: bool
    reason: str
    format_ok: bool

    def to_dict(self) -> dict:
        return asdict(self)


def gold_answer(gold: Any) -> str:
    """The short gold answer: a whole GSM8K answer text ("... #### 18") gives "18", a long worked solution
    gives its last \\boxed{} value; anything else is returned as text."""
    gold_s = _as_text(gold, "gold")
    if "####" in gold_s:
        tail = gold_s.rsplit("####", 1)[1].strip()
        if tail:
            return tail
    if len(gold_s) > 200 and "boxed" in gold_s:
        boxes = extract_boxed(gold_s)
        if boxes:
            return boxes[-1][2]
    return gold_s


def grade(response: Any, gold: Any, *, timeout: float = DEFAULT_TIMEOUT, format_weight: float = 0.0,
          starts_in_thinking: bool = False, last_number: bool = False) -> MathGrade:
    """Grade a response against a gold answer (a short answer such as "42" or "\\frac{1}{2}"; a GSM8K
    answer text or a boxed worked solution is reduced to its final answer first, see gold_answer).
    `last_number`: accept the last number of the text when no answer form is found (module docstring)."""
    gold_s = gold_answer(gold)
    if isinstance(response, (bytes, bytearray)):
        return MathGrade(0.0, None, gold_s, False, "response is bytes, expected str", False)
    if response is not None and not isinstance(response, (str, list)):
        return MathGrade(0.0, None, gold_s, False, f"response is {type(response).__name__}, expected str", False)
    if isinstance(response, str) and len(response) > MAX_RESPONSE_CHARS:
        return MathGrade(0.0, None, gold_s, False, f"response too long ({len(response)} chars)", False)
    deadline = time.monotonic() + timeout           # one budget for the whole grade
    ex = extract_final(response, starts_in_thinking=starts_in_thinking, timeout=timeout, last_number=last_number)
    if ex.hedged:
        reason = f"hedged: {len(ex.candidates)} different candidate answers"
        return MathGrade(0.0, None, gold_s, False, reason, False)
    if ex.answer is None:
        reason = "no answer found" if ex.closed else "no answer found (unclosed <think>)"
        return MathGrade(0.0, None, gold_s, False, reason, False)
    # a gold written with boxes goes to compare whole: the text around its boxes can say what they are ("n = \\boxed{..}")
    boxed_gold = isinstance(gold, str) and "####" not in gold and ("boxed" in gold or "fbox" in gold)
    correct, reason = compare(gold if boxed_gold else gold_s, ex.answer, _left(deadline))
    format_ok = ex.form in ("answer_tag", "boxed", "hashes") and ex.closed and not reason.startswith("hedged")
    reward = float(correct) + (format_weight * float(format_ok) if format_weight else 0.0)
    return MathGrade(reward, ex.answer, gold_s, correct, reason, format_ok)


def reward_function(completions: Sequence[Any], answer: Sequence[Any], **kwargs: Any) -> list[float]:
    """TRL-style reward: 1.0 for a correct final answer, else 0.0 (plus format_weight * format_ok when
    passed as a keyword). completions: strings or chat message lists; answer: the dataset column of
    gold answers. Extra keyword arguments from the trainer (prompts, trainer_state, ...) are ignored."""
    timeout = float(kwargs.get("timeout", DEFAULT_TIMEOUT))
    weight = float(kwargs.get("format_weight", 0.0))
    if isinstance(answer, (str, int, float)):
        answer = [answer] * len(completions)
    if len(answer) != len(completions):
        raise ValueError(f"got {len(completions)} completions but {len(answer)} answers")
    return [grade(c, a, timeout=timeout, format_weight=weight).reward for c, a in zip(completions, answer)]

