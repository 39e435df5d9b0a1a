"""Temporal Clue answer verifier: lettered answer sheets ("A. Mr. Green") graded against the solution.

Two modes:

- ``mode="strict"`` (default) — the grader to train and evaluate with. Rules, in order:

  1. *Where answers may be.* Only the answer part of the response counts: the text after the LAST
     ``</think>`` (so a stray or spoofed ``</think>`` after an answer line turns that line into
     thinking); an unclosed ``<think>`` makes everything after it thinking (see
     rlvr_gym.verifiers.text.split_thinking). Answers written only inside thinking do not count
     (reason "missing (only inside thinking)"). ``starts_in_thinking=True`` is for chat templates
     that put ``<think>`` in the prompt: then a response without ``</think>`` has no answer part.
  2. *Answer lines.* One letter per line, tolerant of real model output: ``A. X``, ``A: X``, ``A) X``,
     ``(A) X``, ``[A] X``, ``A - X``, ``**A.** X``, ``**A. X**``, ``**A**: X``, `` `A.` X``, bullets
     (``- A. X``, ``* A. X``), headings (``### A. X``), block quotes, markdown around the answer,
     lower-case letters (``a) X``). For each letter the LAST line wins. If the answer part has an explicit
     final-answer heading ("Final answer(s)", "Answers:", "Answer sheet"), lines of the block under
     the last such heading (up to the next heading-like line, e.g. "Explanation:") win over lines
     elsewhere. Several letters on one line, tables and answers on the line after the letter are NOT
     answer lines.
  3. *Matching.* Compared after normalisation: Unicode NFKC, invisible characters dropped, markdown
     and ``\\boxed{}``/``\\text{}`` wrappers dropped, case folded, whitespace collapsed, trailing
     punctuation and wrapping quotes/brackets dropped, a leading "the" dropped, the dot after a
     letter-ending abbreviation ignored ("Mr Green" == "Mr. Green"). Times compare as clock times:
     "11:45 PM" == "11:45pm" == "11:45 p.m." == "23:45"; "12:00 AM" == "00:00" == "midnight";
     "12:00 PM" == "noon". A time without AM/PM is read on the 24-hour clock ("11:45" is 11:45 AM).
     A time against a non-time gold is simply a mismatch.
  4. *Filler.* A small, fixed whitelist of words may precede the answer: a type label with a
     separator ("Suspect: X", "Answer - X"), a subject with was/is ("It was X", "The murderer was
     X", "The weapon is X"), one preposition (in/at/with/by/on/from/of) and one article. Nothing
     else is filler: "Mr. Green, probably", "not Mr. Green", "Mr. Green because ..." are wrong.
  5. *With candidates* (letter -> every admissible answer of that type, e.g. all suspects): an
     answer that names two or more candidates is wrong with reason "hedged: N candidates" ("X or Y",
     "X/Y", "X, Y", "either X or Y", "X and Y", lists, parentheses). An answer that names exactly one
     candidate, the gold, is also right when the rest is the filler above, optionally after an echo
     of the question ending in "?" that names no candidate ("Who murdered Mr. Boddy? Mr. Green"),
     and optionally followed by ONE aside that names no other candidate: a parenthetical
     ("Mr. Green (alone with Boddy in the Kitchen)") or a dash remark ("Mr. Green - alone with
     Boddy", with an en/em dash or a spaced hyphen). Prose continuations ("Mr. Green because ...",
     "Mr. Green, who ...") are not asides. Without candidates no aside is allowed (we could not tell
     whether it names a second answer), and hedges are only diagnosed (reason) from separators:
     " or ", "/", ",", ";", " and ", "&", "|".

  6. *Size.* Answers longer than MAX_ANSWER_CHARS (2000) characters are wrong ("too long") without
     further work; every pattern is linear-time, so a megabyte response grades in well under a second.

  Why this cannot be gamed under GRPO: every accepted form commits to exactly one candidate, so no
  output scores on two golds; the last line wins, so listing every candidate scores one; thinking
  never counts, so echoing answers there earns nothing.

- ``mode="legacy"`` — the original release's grader, reproduced exactly for comparison with published
  numbers: for each letter, the last match anywhere in the WHOLE response (thinking included) of the
  case-sensitive pattern ``<LETTER>\\. ([A-Za-z .:-]+)`` (a literal letter, a dot, exactly one space,
  then a greedy run of ASCII letters, spaces, dots, colons and hyphens), compared as
  ``match.strip().lower() == gold.lower()``. Consequences: time answers never score (no digits in
  the class; "A. 11:45 PM" does not match at all, so an earlier match for that letter can win),
  "**A.** X", "A: X", "A) X" never match, a trailing "." becomes part of the answer, the letter
  needs no word boundary ("DNA. Knife" answers A), and "**A. X**" DOES score.

Public API: Grade, grade, extract_answers, reward_function (TRL style), parse_time, answer_key, MODES.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Mapping, Sequence

from rlvr_gym.verifiers.text import (completion_text, normalize_text, prompt_ends_in_thinking, split_thinking,
                                     strip_markdown)

__all__ = ["Grade", "MODES", "MAX_ANSWER_CHARS", "extract_answers", "grade", "reward_function", "parse_time",
           "answer_key", "answer_form_share"]

MODES: tuple[str, ...] = ("strict", "legacy")


@dataclass
class Grade:
    """The grade of one response.

    reward: fraction of letters correct, in [0, 1].
    correct: letter -> whether that answer is right (keys in the solution's order).
    extracted: letter -> the answer as found (display form), None when no answer line was found.
    reasons: letter -> "ok" when right, otherwise why not: "missing", "missing (only inside thinking)",
      "empty", "hedged: N candidates", "hedged", "not a candidate", "extra text", "too long", "wrong".
    format_ok: every letter has a parsable, non-empty answer line in the answer part of the response,
      and no thinking block is left unclosed (legacy mode: every letter matched the original regex).
    mode: "strict" or "legacy" (which grader produced this).
    """

    reward: float
    correct: dict[str, bool]
    extracted: dict[str, str | None]
    reasons: dict[str, str]
    format_ok: bool
    mode: str = field(default="strict")


# --------------------------------------------------------------------------------------------------
# Extraction (strict)

# One answer line, matched from the "\n" that starts it (the text is given a leading "\n"): a literal
# first character lets the engine skip quickly from line to line, where "^" under MULTILINE would be
# tried at every position. Nothing repeats unboundedly except plain runs, so the cost is linear.
_ANSWER_LINE = re.compile(
    r"""
    \n(?=[ \t>\#+*\u2022\u2013\u2014<_`~(\[A-Za-z-])  # cheap first-character test (speed only)
    [ \t]*
    (?:>[ \t]*){0,2}                        # block quote
    (?:\#{1,6}[ \t]+)?                      # markdown heading
    (?:[-+*\u2022\u2013\u2014][ \t]+)?      # bullet
    (?:<answer>[ \t]*)?
    [*_`~]{0,3}[ \t]?                       # opening emphasis
    (?:(?P<paren>[(\[])[ \t]?)?
    (?P<letter>[A-Za-z])
    (?(paren)[ \t]?[)\]])
    [*_`~]{0,3}                             # closing emphasis around the letter ("**A**:")
    (?(paren)
        (?:[ \t]?[.:)]|[ \t]+[-\u2013\u2014=](?=[ \t]))?
      | (?:[ \t]?[.:)]|[ \t]+[-\u2013\u2014=](?=[ \t]))
    )
    [*_`~]{0,3}                             # closing emphasis after the separator ("**A.**")
    (?:[ \t]+(?P<answer>.*))?$
    """,
    re.VERBOSE | re.MULTILINE,
)

_FINAL_HEADING = re.compile(
    r"\n(?=[ \t>#*_`=\-]{0,12}[mtfa])"           # cheap test first (speed only)
    r"[ \t>#*_`=\-]{0,12}(?:my[ \t]+|the[ \t]+)?"
    r"(?:final[ \t]+answers?|answers?[ \t]*:|answers[ \t*_`]*$|answer[ \t]+sheet)"
    r"(?P<rest>.*)$",
    re.IGNORECASE | re.MULTILINE,
)
_HEADING_REST_LEAD = re.compile(r"^[\s*_`:=\-\u2013\u2014]*(?:(?:are|is)\b[\s*_`:=\-]*)?", re.IGNORECASE)
# A line that starts a new block (ends the final-answer block): a markdown heading, a line that is
# only bold text, or a short line ending in a colon.
_BLOCK_HEADING = re.compile(r"\n[ \t]*(?:\#{1,6}[ \t]|\*\*[^*\n]{1,80}\*\*:?[ \t]*$|[^:\n]{1,60}:[ \t]*$)",
                            re.MULTILINE)
# Longest answer (characters as written) that is judged at all; anything longer is wrong ("too long").
# A correct answer under the filler rules is at most a ~200-character question echo, a few filler
# words, the name and a ~300-character remark, so this never rejects a right answer.
MAX_ANSWER_CHARS = 2000


def _display(answer: str | None) -> str:
    """The answer as found, without surrounding whitespace/markdown or a closing </answer> tag."""
    if not answer:
        return ""
    answer = answer.strip()
    if answer[-9:].lower() == "</answer>":
        answer = answer[:-9]
    return strip_markdown(answer.strip()).strip()


# Every line break str.splitlines knows, mapped to "\n" so the MULTILINE patterns see the same lines.
_LINE_BREAKS = str.maketrans({c: "\n" for c in "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"})


def _parse_line(line: str, wanted: Mapping[str, str]) -> tuple[str, str] | None:
    """(solution letter, raw answer) when `line` is an answer line for a wanted letter."""
    match = _ANSWER_LINE.match("\n" + line)
    if match is None:
        return None
    letter = wanted.get(match.group("letter").upper())
    if letter is None:
        return None
    return letter, match.group("answer") or ""


def _scan(text: str, wanted: Mapping[str, str]) -> dict[str, str]:
    """Answers in a block of text: last line per letter; the block under the last final-answer
    heading wins over everything else. The regexes run over the whole text (MULTILINE) rather than
    line by line in Python, so a megabyte of lines costs tens of milliseconds."""
    text = "\n" + text.replace("\r\n", "\n").translate(_LINE_BREAKS)
    events: list[tuple[int, str, str]] = []       # (position, letter, raw answer), text order
    for match in _ANSWER_LINE.finditer(text):
        letter = wanted.get(match.group("letter").upper())
        if letter is not None:
            events.append((match.start(), letter, match.group("answer") or ""))

    def is_answer_line(pos: int) -> bool:
        match = _ANSWER_LINE.match(text, pos)
        return match is not None and match.group("letter").upper() in wanted

    last_heading = None
    inline_events = []
    for heading in _FINAL_HEADING.finditer(text):
        if is_answer_line(heading.start()):
            continue                                # an answer line is never a heading
        last_heading = heading
        rest = heading.group("rest")
        rest = rest[_HEADING_REST_LEAD.match(rest).end():]
        inline = _parse_line(rest, wanted) if rest else None
        if inline is not None:                      # "Final answer: A. Mr. Green"
            inline_events.append((heading.start(), inline[0], inline[1]))
    if inline_events:
        events = sorted(events + inline_events, key=lambda e: e[0])
    found = {letter: raw for _, letter, raw in events}
    if last_heading is not None:
        block = [e for e in events if e[0] >= last_heading.start()]
        if block:
            first = block[0][0]
            for heading in _BLOCK_HEADING.finditer(text, last_heading.end()):
                if heading.start() > first and not is_answer_line(heading.start()):
                    block = [e for e in block if e[0] < heading.start()]
                    break
        found.update({letter: raw for _, letter, raw in block})
    return {letter: _display(raw) for letter, raw in found.items()}


def _wanted_letters(letters: Sequence[str]) -> dict[str, str]:
    """Upper-case letter -> the caller's spelling; single ASCII letters only."""
    if isinstance(letters, (bytes, bytearray)) or not isinstance(letters, (str, Sequence)):
        raise TypeError(f"letters must be a sequence of single letters, got {type(letters).__name__}")
    wanted: dict[str, str] = {}
    for letter in letters:
        if not isinstance(letter, str) or len(letter) != 1 or not ("A" <= letter.upper() <= "Z"):
            raise ValueError(f"answer letters must be single ASCII letters, got {letter!r}")
        if letter.upper() in wanted:
            raise ValueError(f"letter {letter!r} given twice (letters are case-insensitive)")
        wanted[letter.upper()] = letter
    return wanted


def _check_response(response: object) -> str:
    if not isinstance(response, str):
        raise TypeError(f"response must be a str, got {type(response).__name__}"
                        + (" (decode bytes first)" if isinstance(response, (bytes, bytearray)) else ""))
    return response


def extract_answers(response: str, letters: Sequence[str], *,
                    starts_in_thinking: bool = False) -> dict[str, str | None]:
    """letter -> the answer given for it in the answer part of `response` (None when absent).

    Rules in the module docstring. `starts_in_thinking`: the completion begins inside a thinking block
    (its prompt ended with ``<think>``), so without a ``</think>`` nothing counts as an answer.
    """
    response = _check_response(response)
    wanted = _wanted_letters(letters)
    found = _scan(split_thinking(response, starts_in_thinking=starts_in_thinking).answer, wanted)
    return {letter: found.get(letter) for letter in wanted.values()}


# --------------------------------------------------------------------------------------------------
# Matching (strict)

_ABBREVIATION_DOT = re.compile(r"(?<=[^\W\d_])\.(?=\s|$)")
_TIME = re.compile(
    r"(?<![\w:])(?:"
    r"(?P<h>\d{1,2})(?::(?P<m>\d{2}))?[ \t]?(?P<ap>[ap])\.?[ \t]?m\b\.?"
    r"|(?P<h24>\d{1,2}):(?P<m24>\d{2})(?![\d:])"
    r"|(?P<word>midnight|noon)\b"
    r")",
    re.IGNORECASE,
)
_PREFIX = (
    r"(?:(?:final\ )?(?:answer|suspect|murderer|killer|culprit|weapon|murder\ weapon|room|location|place"
    r"|scene|time|motive|reason|who|what|where|when|why)\ ?[:=\-\u2013\u2014]\ ?)?"
    r"(?:(?:it|he|she|they|(?:the\ )?(?:murderer|killer|culprit|murder\ weapon|weapon|room|location|place"
    r"|time|motive|answer))\ (?:was|is|were)\ |it's\ |it\u2019s\ )?"
    r"(?:(?:in|at|with|by|on|from|of)\ )?"
    r"(?:(?:the|a|an)\ )?"
)
_PREFIX_RE = re.compile(_PREFIX)
# With candidates a question may be echoed before the answer ("Who murdered Mr. Boddy? Mr. Green").
_CANDIDATE_PREFIX_RE = re.compile(r"(?:[^?]{0,200}\?\ ?)?" + _PREFIX)
# ... and may be followed by one aside: "(remark)", "- remark" or "— remark" (the whole answer must
# still name no other candidate).
_CANDIDATE_SUFFIX_RE = re.compile(r"(?:\ ?\([^()]{0,300}\)|\ ?[\u2013\u2014]\ ?[^\n]{1,300}|\ -\ [^\n]{1,300})?")
_HEDGE_SEPARATORS = re.compile(r"\bor\b|\band\b|\bnor\b|\beither\b|[/,;&|]")


@lru_cache(maxsize=65536)
def answer_key(text: str) -> str:
    """The comparison key of an answer or a gold value (normalisation rules in the module docstring).
    Cached: gold values, candidates and most answers repeat across a training run."""
    key = normalize_text(text)
    if "." in key:
        key = " ".join(_ABBREVIATION_DOT.sub("", key).split())
    return key


def _time_minutes(match: re.Match) -> int | None:
    if match.group("word"):
        return 0 if match.group("word").lower() == "midnight" else 12 * 60
    if match.group("h24") is not None:
        hour, minute = int(match.group("h24")), int(match.group("m24"))
        return hour * 60 + minute if hour < 24 and minute < 60 else None
    hour, minute = int(match.group("h")), int(match.group("m") or 0)
    if not (1 <= hour <= 12 and minute < 60):
        return None
    return (hour % 12 + (12 if match.group("ap").lower() == "p" else 0)) * 60 + minute


def parse_time(text: str) -> int | None:
    """Minutes after midnight when the whole of `text` is one clock time, else None.

    "11:45 PM", "11:45pm", "11:45 p.m.", "23:45" -> 1425; "12:00 AM", "00:00", "midnight" -> 0;
    "12:00 PM", "noon" -> 720; "11:45" -> 705 (24-hour clock without AM/PM).
    """
    return _key_minutes(normalize_text(text)) if isinstance(text, str) else None


@lru_cache(maxsize=65536)
def _key_minutes(key: str) -> int | None:
    """parse_time for an already normalised key."""
    match = _TIME.fullmatch(key)
    return None if match is None else _time_minutes(match)


class _Candidates:
    """Mention finder for one candidate list (built once per distinct list, then cached)."""

    def __init__(self, candidates: tuple[str, ...]):
        if not all(isinstance(c, str) for c in candidates):
            raise TypeError("candidates must be str")
        self.keys = tuple(answer_key(c) for c in candidates)
        self.times = tuple(_key_minutes(k) for k in self.keys)
        self.by_key = {k: i for i, (k, t) in enumerate(zip(self.keys, self.times)) if t is None and k}
        self.by_minutes: dict[int, int] = {}
        for i, t in enumerate(self.times):
            if t is not None:
                self.by_minutes.setdefault(t, i)
        name_keys = sorted(self.by_key, key=len, reverse=True)
        self.names = None
        if name_keys:   # one alternation, longest first, whole words only
            self.names = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(k) for k in name_keys) + r")(?!\w)")

    def index_of(self, key: str) -> int | None:
        """Which candidate `key` (an answer_key) is, if any."""
        minutes = _key_minutes(key)
        if minutes is not None and minutes in self.by_minutes:
            return self.by_minutes[minutes]
        return self.by_key.get(key)

    def mentions(self, key: str) -> list[tuple[int, int, int]]:
        """(candidate index, start, end) of every candidate named in `key`, in text order."""
        found: list[tuple[int, int, int]] = []
        if self.names is not None:
            for match in self.names.finditer(key):
                found.append((self.by_key[match.group(0)], match.start(), match.end()))
        if self.by_minutes:
            for match in _TIME.finditer(key):
                index = self.by_minutes.get(_time_minutes(match))
                if index is not None:
                    found.append((index, match.start(), match.end()))
            found.sort(key=lambda m: m[1])
        return found


@lru_cache(maxsize=4096)
def _candidate_index(candidates: tuple[str, ...]) -> _Candidates:
    return _Candidates(candidates)


def _same(answer_key_: str, gold_key: str) -> bool:
    if answer_key_ == gold_key:
        return True
    gold_minutes = _key_minutes(gold_key)
    return gold_minutes is not None and _key_minutes(answer_key_) == gold_minutes


def _judge(answer: str | None, gold: str, cands: _Candidates | None) -> tuple[bool, str]:
    """(correct, reason) for one letter."""
    if answer is None:
        return False, "missing"
    if len(answer) > MAX_ANSWER_CHARS:
        return False, "too long"
    key = answer_key(answer)
    if not key:
        return False, "empty"
    gold_key = answer_key(gold)
    if _same(key, gold_key):
        return True, "ok"
    core = key[_PREFIX_RE.match(key).end():]
    if core and _same(core, gold_key):
        return True, "ok"
    if cands is None:
        return False, "hedged" if _HEDGE_SEPARATORS.search(key) else "wrong"
    mentions = cands.mentions(key)
    distinct = {m[0] for m in mentions}
    if len(distinct) >= 2:
        return False, f"hedged: {len(distinct)} candidates"
    if not distinct:
        return False, "not a candidate"
    (index,) = distinct
    if index != cands.index_of(gold_key):
        return False, "wrong"
    _, start, end = mentions[0]
    if _CANDIDATE_PREFIX_RE.fullmatch(key[:start]) and _CANDIDATE_SUFFIX_RE.fullmatch(key[end:]):
        return True, "ok"
    return False, "extra text"


def answer_form_share(extracted: Mapping[str, str | None], candidates: Mapping[str, Sequence[str]]) -> float:
    """The share of letters whose answer line names exactly one of that letter's admissible answers, right or wrong
    (found by the same mention finder as grading; a bare name counts, and so does a sentence naming one listed
    answer of the asked kind; a line naming two, or none, does not). The answer-form part of TemporalClueEnv's
    optional ``format_reward``: it rewards naming an answer from the lists, never a particular answer. Letters
    missing from `candidates` count as not named."""
    if not extracted:
        return 0.0
    named = 0
    for letter, answer in extracted.items():
        cands = candidates.get(letter)
        if answer is None or not cands or len(answer) > MAX_ANSWER_CHARS:
            continue
        key = answer_key(answer)
        named += len({index for index, _, _ in _candidate_index(tuple(cands)).mentions(key)}) == 1
    return named / len(extracted)


# --------------------------------------------------------------------------------------------------
# Legacy (the original regex grader)

@lru_cache(maxsize=64)
def _legacy_pattern(letter: str) -> re.Pattern:
    # Same semantics as the original: literal key, ". ", greedy [A-Za-z .:-]+, case-sensitive.
    return re.compile(re.escape(letter) + r"\. ([A-Za-z .:\-]+)")


def _grade_legacy(response: str, solution: Mapping[str, str]) -> Grade:
    correct: dict[str, bool] = {}
    extracted: dict[str, str | None] = {}
    reasons: dict[str, str] = {}
    for letter, gold in solution.items():
        last = None
        for last in _legacy_pattern(letter).finditer(response):
            pass
        if last is None:
            correct[letter], extracted[letter], reasons[letter] = False, None, "missing"
            continue
        answer = last.group(1).strip()
        correct[letter] = answer.lower() == gold.lower()
        extracted[letter] = answer
        reasons[letter] = "ok" if correct[letter] else "wrong"
    reward = sum(correct.values()) / len(solution)
    format_ok = all(v is not None for v in extracted.values())
    return Grade(reward=reward, correct=correct, extracted=extracted, reasons=reasons,
                 format_ok=format_ok, mode="legacy")


# --------------------------------------------------------------------------------------------------
# Public grading API

def _check_solution(solution: object) -> Mapping[str, str]:
    if not isinstance(solution, Mapping):
        raise TypeError(f"solution must be a mapping letter -> answer, got {type(solution).__name__}")
    if not solution:
        raise ValueError("solution is empty: at least one lettered answer is needed")
    for letter, gold in solution.items():
        if not isinstance(gold, str):
            raise TypeError(f"solution[{letter!r}] must be a str, got {type(gold).__name__}")
    _wanted_letters(list(solution))
    return solution


def _check_candidates(candidates: object, solution: Mapping[str, str]) -> dict[str, _Candidates]:
    if candidates is None:
        return {}
    if not isinstance(candidates, Mapping):
        raise TypeError(f"candidates must be a mapping letter -> list of answers, got {type(candidates).__name__}")
    out: dict[str, _Candidates] = {}
    for letter, gold in solution.items():
        options = candidates.get(letter)
        if options is None:
            continue          # letters without candidates are graded without them
        if isinstance(options, (str, bytes)) or not isinstance(options, (list, tuple, Sequence)):
            raise TypeError(f"candidates[{letter!r}] must be a list of str, got {type(options).__name__}")
        try:
            index = _candidate_index(tuple(options))      # validated once per distinct list (cached)
        except TypeError:
            raise TypeError(f"candidates[{letter!r}] must be a list of str") from None
        if index.index_of(answer_key(gold)) is None:
            raise ValueError(f"the gold answer {gold!r} for {letter} is not among its candidates {list(options)}")
        out[letter] = index
    return out


def grade(response: str, solution: Mapping[str, str], *, candidates: Mapping[str, Sequence[str]] | None = None,
          mode: str = "strict", starts_in_thinking: bool = False) -> Grade:
    """Grade one response against `solution` (letter -> gold answer).

    candidates: optional letter -> every admissible answer of that letter's type (enables hedge
    detection by name and the one-candidate filler rules); ignored in legacy mode.
    mode: "strict" or "legacy" (see the module docstring).
    starts_in_thinking: the response begins inside a thinking block (its prompt ended with <think>).
    Raises TypeError for a non-str response or a malformed solution/candidates, ValueError for an
    unknown mode, an empty solution, non-letter keys, or a gold answer missing from its candidates.
    """
    response = _check_response(response)
    solution = _check_solution(solution)
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if mode == "legacy":
        return _grade_legacy(response, solution)
    cands = _check_candidates(candidates, solution)
    wanted = _wanted_letters(list(solution))
    split = split_thinking(response, starts_in_thinking=starts_in_thinking)
    found = _scan(split.answer, wanted)
    in_thinking: dict[str, str] | None = None
    correct: dict[str, bool] = {}
    extracted: dict[str, str | None] = {}
    reasons: dict[str, str] = {}
    for letter, gold in solution.items():
        answer = found.get(letter)
        ok, reason = _judge(answer, gold, cands.get(letter))
        if answer is None and split.thinking:
            if in_thinking is None:
                in_thinking = _scan(split.thinking, wanted)
            if letter in in_thinking:
                reason = "missing (only inside thinking)"
        correct[letter], extracted[letter], reasons[letter] = ok, answer, reason
    reward = sum(correct.values()) / len(solution)
    # Well-formed: every letter answered, and no thinking block left open (malformed tags never get
    # format credit, even when the sheet came before the stray <think>).
    format_ok = split.closed and all(extracted[letter] for letter in solution)
    return Grade(reward=reward, correct=correct, extracted=extracted, reasons=reasons,
                 format_ok=format_ok, mode="strict")


# --------------------------------------------------------------------------------------------------
# TRL reward function

def _as_mapping(value: Any, what: str, i: int, allow_none: bool = False) -> Mapping | None:
    if value is None and allow_none:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{what}[{i}] is a str but not valid JSON: {exc}") from None
        if value is None and allow_none:
            return None
    if not isinstance(value, Mapping):
        raise TypeError(f"{what}[{i}] must be a dict (or its JSON string), got {type(value).__name__}")
    return value


def _per_sample(value: Any, name: str, n: int) -> list:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise TypeError(f"{name} must be a list with one entry per completion, got {type(value).__name__}")
    if len(value) != n:
        raise ValueError(f"{name} has {len(value)} entries for {n} completions")
    return list(value)


def reward_function(completions: Sequence[Any], solution: Sequence[Any], *,
                    candidates: Sequence[Any] | None = None, mode: str = "strict",
                    starts_in_thinking: bool | Sequence[bool] | None = None,
                    prompts: Sequence[Any] | None = None, **kwargs: Any) -> list[float]:
    """TRL-style reward: one float in [0, 1] per completion (fraction of letters correct).

    completions: strings or chat message lists ([{"role": "assistant", "content": ...}]).
    solution: per completion a dict letter -> answer or its JSON string (a dataset column).
    candidates: optional column of dicts (or JSON strings, or None) letter -> admissible answers.
    mode: "strict" | "legacy" (bind with functools.partial).
    starts_in_thinking: bool or per-completion bools; None -> detected per completion from `prompts`
    (a prompt ending with "<think>" means the completion starts inside thinking).
    Other keyword arguments (TRL passes every dataset column and trainer state) are ignored.

    Junk completions (None, numbers, malformed messages) score 0.0; a malformed solution or
    candidates column is a data error and raises TypeError/ValueError.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if isinstance(completions, (str, bytes, Mapping)) or not isinstance(completions, Sequence):
        raise TypeError(f"completions must be a list, got {type(completions).__name__}")
    n = len(completions)
    solutions = [_as_mapping(s, "solution", i) for i, s in enumerate(_per_sample(solution, "solution", n))]
    cands = [None] * n if candidates is None else [
        _as_mapping(c, "candidates", i, allow_none=True)
        for i, c in enumerate(_per_sample(candidates, "candidates", n))]
    if starts_in_thinking is None:
        prompt_list = _per_sample(prompts, "prompts", n) if prompts is not None else [None] * n
        starts = [prompt_ends_in_thinking(p) for p in prompt_list]
    elif isinstance(starts_in_thinking, bool):
        starts = [starts_in_thinking] * n
    else:
        starts = [bool(s) for s in _per_sample(starts_in_thinking, "starts_in_thinking", n)]
    rewards: list[float] = []
    for completion, sol, cand, start in zip(completions, solutions, cands, starts):
        text = completion_text(completion)
        if text is None:
            rewards.append(0.0)
            continue
        rewards.append(grade(text, sol, candidates=cand, mode=mode, starts_in_thinking=start).reward)
    return rewards
