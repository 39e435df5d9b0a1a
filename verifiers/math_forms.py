"""Text-level helpers of the math verifier (``rlvr_gym.verifiers.math``): where a free-text reply states its answer,
how an answer is split into parts, which numbers a string writes, and which inputs are too large to evaluate.

Nothing here imports sympy or math-verify: every function is plain string work, linear or close to it in the input
length, so the verifier can decide these questions before any symbolic work. The rules are documented in the
docstring of ``rlvr_gym.verifiers.math``; the functions below implement them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

# ----------------------------------------------------------------------------------------------------
# Math spans and free-text statements
# ----------------------------------------------------------------------------------------------------

# $$..$$, \[..\], \(..\) may span lines; a single $..$ may not (a lone "$" is currency).
_SPAN_RE = re.compile(r"\$\$(.{1,2000}?)\$\$|\\\[(.{1,2000}?)\\\]|\\\((.{1,2000}?)\\\)|(?<!\\)\$((?:[^$\n\\]|\\.){1,1000}?)\$", re.DOTALL)
_NUM_TOKEN_RE = re.compile(r"(?<![\w.\\])[-−]?(?:\d{1,3}(?:[ \u2009\u202f]\d{3})+(?!\d)|\d+)(?:[.,]\d+)*"
                           r"(?:\s?/\s?\d+(?:\.\d+)?)?(?:\s?%|\s(?:hundred|thousand|million|billion|trillion|dozen)\b)?")
# Words that introduce the value of a statement: "... is 12", "x = 3", "we get 7", "so 5".
_CUE_RE = re.compile(r"(?:\b(?:is|are|was|were|equals?|equal\s+to|gives?|get|gets|becomes?|be|so|therefore|thus|"
                     r"hence|answer|it'?s|by|to)\b|=|:|\\approx)", re.IGNORECASE)
_PHRASE_CUE_RE = re.compile(r"final\s{1,3}answer(?:\s{1,3}is)?\s{0,3}[:=]?|the\s{1,3}answer\s{1,3}is\s{0,3}[:=]?|"
                            r"(?:^|\n)[ \t*#]{0,6}answer[ \t*]{0,3}:|\banswer(?=\s{0,3}(?:\$|\\\(|\\\[))",
                            re.IGNORECASE)
# Chat-template leftovers and the Minerva sign-off: never part of an answer.
_JUNK_RE = re.compile(r"<\|[a-z_]{1,30}\|>(?:user|assistant|system)?|I hope it is correct\.?", re.IGNORECASE)
_NEGATION_RE = re.compile(r"\b(?:not|never|cannot|can't|isn't|aren't|no\s+longer)\b", re.IGNORECASE)
_CONNECTIVE_TEXT_RE = re.compile(r"^[\s,;.\"'“”]*(?:(?:and|or|,|;)[\s,;\"'“”]*)*$", re.IGNORECASE)
_NAME_SPAN_RE = re.compile(r"^\s*(?:[A-Za-z]{1,12}|[A-Za-z]\s*\([^()]{0,20}\)|\\[a-zA-Z]+(?:\{[A-Za-z]+\})?)\s*$")
MAX_TAIL = 4000     # only the tail of a reply is read for a free-text answer


def math_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, content) of each math span ($..$, $$..$$, \\(..\\), \\[..\\]) in order."""
    return [(m.start(), m.end(), next(g for g in m.groups() if g is not None)) for m in _SPAN_RE.finditer(text)]


@dataclass(frozen=True)
class Statement:
    """The value a sentence states: ``value`` (None when it states none or several), ``several`` (it names more
    than one distinct value after its last cue), ``hedged`` (they are joined by "or")."""

    value: str | None
    several: bool = False
    hedged: bool = False


def sentence_value(sentence: str) -> Statement:
    """The one value a sentence states. Values are its math spans and the numbers written outside them; a span that
    is only a name ("$n$", "$ABCD$", "$f(x)$") counts only when nothing else does. When the sentence has a cue word
    ("is", "=", ":", "so", "we get", ...), only values after the last cue before the final value count."""
    spans = math_spans(sentence)
    values: list[tuple[int, str, bool]] = []          # (position, text, is_name)
    masked = list(sentence)
    for start, end, content in spans:
        values.append((start, content.strip(), bool(_NAME_SPAN_RE.match(content))))
        masked[start:end] = " " * (end - start)
    masked_s = "".join(masked)
    for m in _NUM_TOKEN_RE.finditer(masked_s):
        values.append((m.start(), m.group().replace(" ", ""), False))
    values.sort()
    if not values:
        return Statement(None)
    if any(not is_name for _, _, is_name in values):
        values = [v for v in values if not v[2]]
    last_pos = values[-1][0]
    cue_end = None
    for cue in _CUE_RE.finditer(masked_s, 0, last_pos + 1):
        cue_end = cue.end()
    chosen = [v for v in values if cue_end is None or v[0] >= cue_end] or values[-1:]
    if _NEGATION_RE.search(masked_s, cue_end or 0, chosen[0][0]):
        return Statement(None, several=True)        # "the answer is not 5" states no answer
    texts = []
    for _, text, _ in chosen:
        if text and text not in texts:
            texts.append(text)
    if len(texts) == 1:
        return Statement(texts[0])
    between = masked_s[chosen[0][0]:last_pos]
    hedged = bool(re.search(r"\bor\b", between, re.IGNORECASE))
    if len(chosen) > 1 and all(_CONNECTIVE_TEXT_RE.match(_between(sentence, chosen, i)) for i in range(len(chosen) - 1)):
        # "$12$ and $13$", "$3$, $4$": a list answer (or a hedge when joined by "or")
        return Statement(None if hedged else ", ".join(texts), several=False, hedged=hedged)
    return Statement(None, several=True, hedged=hedged)


def _between(sentence: str, chosen: list[tuple[int, str, bool]], i: int) -> str:
    """The text between value i and value i+1 of a sentence, without the values themselves."""
    spans = {s: e for s, e, _ in math_spans(sentence)}
    start = chosen[i][0]
    end = spans.get(start)
    if end is None:
        m = _NUM_TOKEN_RE.match(sentence, start)
        end = m.end() if m else start
    return sentence[end:chosen[i + 1][0]]


def _sentences(text: str, *, questions: bool = True) -> list[str]:
    """Split text into sentences at '.', '!', '?' followed by a space or the end, and at line breaks; math spans are
    never split. questions=False leaves out sentences that end in '?' (a question states no answer)."""
    masked = list(text)
    for start, end, _ in math_spans(text):
        masked[start:end] = "x" * (end - start)
    masked_s = "".join(masked)
    out, last = [], 0
    for m in re.finditer(r"[.!?](?=\s|$)|\n", masked_s):
        if m.group() == "." and re.match(r"\d", masked_s[m.end():m.end() + 1] or " "):
            continue
        if questions or m.group() != "?":
            out.append(text[last:m.start()])
        last = m.end()
    out.append(text[last:])
    return [s.strip() for s in out if s.strip()]


def clean_tail(text: str) -> str:
    return _JUNK_RE.sub(" ", text[-MAX_TAIL:])


def phrase_statement(text: str, start: int = 0) -> tuple[int, Statement] | None:
    """The last answer phrase ("final answer is X", "the answer is X", "Answer: X", "Answer $X$") at or after
    `start`, with the value of the sentence it opens: (position of the phrase, statement), or None."""
    phrase = None
    for phrase in _PHRASE_CUE_RE.finditer(text, start):
        pass
    if phrase is None:
        return None
    rest = text[phrase.end():]
    spans = math_spans(rest)
    if spans and not rest[:spans[0][0]].strip(" \t\"'“*:"):
        # the phrase is followed by a math span: the sentence runs to the end of that span (and of any span joined to
        # it by "and"/","), not to the first period inside it
        end = spans[0][1]
        for s, e, _ in spans[1:]:
            if _CONNECTIVE_TEXT_RE.match(rest[end:s]) and "\n" not in rest[end:s]:
                end = e
            else:
                break
        sentence = rest[:end]
    else:
        sents = _sentences(rest)
        sentence = sents[0] if sents else ""
    return phrase.start(), sentence_value(sentence)


def final_statement(text: str) -> Statement:
    """The value stated by the last sentence of `text` that states any (at most 3 sentences back)."""
    for sentence in list(reversed(_sentences(text, questions=False)))[:3]:
        st = sentence_value(sentence)
        if st.value is not None or st.several or st.hedged:
            return st
    return Statement(None)


_PROSE_WORD_RE = re.compile(r"(?<![\\a-zA-Z])[a-zA-Z]{2,}")
_LATEX_ARG_RE = re.compile(r"\\(?:text|textbf|textit|mathrm|mbox|operatorname|textnormal)\s*\{[^{}]*\}|"
                           r"\\(?:begin|end)\s*\{[a-zA-Z*]+\}|\\[a-zA-Z]+|"
                           r"\b(?:sin|cos|tan|cot|sec|csc|log|ln|exp|sqrt|arcsin|arccos|arctan|sinh|cosh|tanh)\b")


def bare_answer(text: str) -> str | None:
    """`text` itself when it is an answer rather than a sentence: one math span, or math with no prose word, or at
    most three words without a cue ("odd", "28 percent", "10 units")."""
    s = text.strip()
    if not s or len(s) > 400 or re.search(r"\\(?:boxed|fbox)|<\s*/?\s*answer|####", s, re.IGNORECASE):
        return None                    # an explicit answer form that gave no answer is not a bare answer
    spans = math_spans(s)
    if len(spans) == 1 and spans[0][0] == 0 and not s[spans[0][1]:].strip(" .\t\n"):
        return s
    outside = _LATEX_ARG_RE.sub(" ", _SPAN_RE.sub(" ", s))
    words = _PROSE_WORD_RE.findall(outside)
    if not words:
        return s
    if len(words) == 1 and len(s.split()) == 1 and "\n" not in s:
        return s                                     # one word: "odd", "Evelyn", "(C)"
    if len(s.split()) <= 3 and re.match(r"[-+−$€£\\]{0,3}\d", s) and "\n" not in s \
            and not re.search(r"[:=]|\b(?:is|are|so|answer|or)\b", s, re.IGNORECASE):
        return s                                     # a number with its unit: "28 percent", "10 units"
    return None


# ----------------------------------------------------------------------------------------------------
# Numbers as people write them
# ----------------------------------------------------------------------------------------------------

QUANTITY_WORDS = {"dozen": 12, "hundred": 100, "thousand": 1000, "k": 1000, "million": 10**6, "billion": 10**9,
                  "trillion": 10**12}
POWER_WORDS = {"squared": 2, "cubed": 3}
_SPACE_THOUSANDS_RE = re.compile(r"^[+-]?\d{1,3}(?: \d{3})+(?:\.\d+)?$")


def clean_number_text(s: str) -> str:
    """Thousands separators written the LaTeX ways become plain commas: "14{,}916", "32,\\!348", "32,\\! 348"."""
    if "{" not in s and "\\!" not in s:
        return s
    s = _BRACED_COMMA_RE.sub(",", s)
    s = _BANG_COMMA_RE.sub(",", s)
    return s.replace("\\!", "")


_BRACED_COMMA_RE = re.compile(r"\s*\{,\s*\}\s*")
_BANG_COMMA_RE = re.compile(r",\s?\\!\s?(?=\d{3})")


def space_thousands(s: str) -> str | None:
    """'1 000' / '5 000 000.5' (spaces, thin spaces already turned into spaces) without the separators, else None."""
    s = s.replace("\u2009", " ").replace("\u202f", " ").replace("\u00a0", " ")
    return s.replace(" ", "") if _SPACE_THOUSANDS_RE.match(s) else None


def decimal_comma(s: str) -> str | None:
    """'1000,99' / '1,22' / '0,111' read with a decimal comma, when a comma cannot be a thousands separator or a list
    separator here: one comma, no spaces, and either more than three digits before it, a lone 0 before it, or two or
    more digits after it that are not exactly three. Used only when the other side is one plain decimal number."""
    m = re.fullmatch(r"([+-]?)(\d+),(\d+)", s.strip())
    if not m:
        return None
    sign, whole, frac = m.groups()
    if len(whole) > 3 or whole == "0" or (len(frac) >= 2 and len(frac) != 3):
        return f"{sign}{whole}.{frac}"
    return None


def significant_digits(decimal_text: str) -> tuple[int, int]:
    """(significant digits, digits after the point) of a plain decimal such as '4.123105625617661' or '0.0833'."""
    t = decimal_text.strip().lstrip("+-")
    whole, _, frac = t.partition(".")
    digits = (whole + frac).lstrip("0")
    return len(digits), len(frac)


# ----------------------------------------------------------------------------------------------------
# The shape of an answer: one value, or several (ordered or not)
# ----------------------------------------------------------------------------------------------------

_OPEN, _CLOSE = "([{", ")]}"


def split_top(s: str, seps: tuple[str, ...]) -> list[str]:
    """Split at separators that are outside (), [], {} and \\begin..\\end; escaped braces count as brackets."""
    parts, depth, cur, i = [], 0, [], 0
    while i < len(s):
        if s.startswith("\\begin", i):
            depth += 1
        elif s.startswith("\\end", i):
            depth -= 1
        ch = s[i]
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth -= 1
        if depth == 0:
            sep = next((x for x in seps if s.startswith(x, i)), None)
            if sep is not None:
                parts.append("".join(cur))
                cur = []
                i += len(sep)
                continue
        cur.append(ch)
        i += 1
    parts.append("".join(cur))
    return [p.strip() for p in parts]


def is_label(lhs: str) -> bool:
    """Is the left side of "lhs = value" a name rather than an expression? Names: x, a_3, F_n, f(x), f(2), |AB|,
    A:B, V_1:V_2, (p, q), \\frac{NO}{BO}. An expression (2x + 4y - 3, a^2 + b, 7) has digits, + or -, or a power."""
    s = lhs.strip()
    if not s or len(s) > 60:
        return False
    s = re.sub(r"_\s*(?:\{[^{}]*\}|\w)", "", s)                  # subscripts
    s = re.sub(r"(?<![\\\w])[A-Za-z]\w{0,10}\s*\([^()]*\)", "f", s)   # f(x), f(2)
    s = re.sub(r"\\(?:frac|dfrac|tfrac|overline|angle|vec|mathbf|mathrm|text|left|right|cdot)\b", "", s)
    if re.search(r"[\d+\-^*]|\\(?!\\)", s):
        return False
    return bool(re.search(r"[A-Za-z]", s))


def relation_free(s: str) -> str:
    """'<=' / '>=' / '!=' written as LaTeX relations, so that '=' below means equality only."""
    return s.replace("<=", "\\le ").replace(">=", "\\ge ").replace("!=", "\\neq ").replace("=<", "\\le ").replace("=>", "\\ge ")


def value_of(item: str, gold_is_equation: bool) -> tuple[str | None, str]:
    """(label or None, value) of one answer part. "x = 5+5+1 = 11" -> ("x", "11"); a chain of equalities gives its
    last value; an approximation after the value ("\\frac{1}{3} \\approx 0.33") is commentary and is dropped. When
    the gold answer is a real equation (2x + 4y - 3 = 0), parts are left whole for math-verify."""
    s = item.strip()
    if gold_is_equation:
        return None, s
    label = None
    pieces = split_top(s, ("=",))
    if len(pieces) > 2:
        label = pieces[0].strip() if is_label(pieces[0]) else None
        s = pieces[-1].strip()
    elif len(pieces) == 2 and pieces[1].strip() and (is_label(pieces[0]) or _is_computation(pieces[0], pieces[1])):
        label, s = (pieces[0].strip() if is_label(pieces[0]) else None), pieces[1].strip()
    if "\\approx" in s:
        before, _, after = s.partition("\\approx")
        if before.strip() and not is_label(before):
            s = before.strip()
        else:
            s = after.strip()
    return (None if label is None else re.sub(r"[\s{}]", "", label)), s


def _is_computation(lhs: str, rhs: str) -> bool:
    """'7 + 5 = 12', '\\frac{1}{2} \\$ = \\frac{10}{9}': arithmetic without letters on the left, a number on the right."""
    bare = re.sub(r"\\(?:frac|dfrac|tfrac|cdot|times|div|sqrt|\$)", "", lhs)
    return not re.search(r"[A-Za-z]", bare) and bool(re.fullmatch(r"[\s\d.,+\-/{}()^\\a-z]*\d[\s\d.,+\-/{}()^\\a-z]*", rhs)) \
        and not re.search(r"(?<!\\)\b[a-z]\b", re.sub(r"\\[a-z]+", "", rhs))


def is_equation(s: str) -> bool:
    """One '=' with an expression (not a name) on its left: 2x+4y-3=0, x^2/4 + y^2/3 = 1, 7 = 11a + c."""
    parts = split_top(s, ("=",))
    return len(parts) == 2 and bool(parts[0].strip()) and bool(parts[1].strip()) and not is_label(parts[0]) \
        and not _is_computation(parts[0], parts[1])


@dataclass(frozen=True)
class Shape:
    """An answer seen as parts: ``items`` (one or more values), ``labels`` (the name each part was given, or None),
    ``ordered`` (False for a set, a solution set, alternatives joined by "or", or a list of tuples)."""

    items: tuple[str, ...]
    labels: tuple[str | None, ...]
    ordered: bool
    reason: str = ""

    @property
    def several(self) -> bool:
        return len(self.items) > 1


_SET_RE = re.compile(r"^\\\{(.*)\\\}$", re.DOTALL)
_OR_SPLIT = (" or ", "\\text{ or }", "\\text{or}", "\\lor", "\\vee")
_AND_SPLIT = (" and ", "\\text{ and }", "\\text{and}", ", and ", ",and ")


def shape(answer: str, *, gold_is_equation: bool = False) -> Shape:
    """Split an answer into its parts (rules in the module docstring of rlvr_gym.verifiers.math)."""
    s = answer.strip()
    ordered, reason = True, ""
    m = _SET_RE.match(s)
    if m and "\\}" not in m.group(1) and "\\{" not in m.group(1):
        s, ordered, reason = m.group(1).strip(), False, "set"
    if re.fullmatch(r"\{[^{}]*\}", s):                    # "{1,3}": a LaTeX group, not a set
        s = s[1:-1]
    s = re.sub(r"(?<=[)\]}])\s*or\s*(?=[(\[{])", " or ", s)      # "(11,7)or(7,11)"
    s = re.sub(r"(?<=[\d)}])or(?=[A-Za-z(\\])", " or ", s)        # "W(x)=1orW(x)=-1"
    alternatives = split_top(s, _OR_SPLIT)
    if len(alternatives) > 1:
        ordered, reason = False, "or"
    parts: list[str] = []
    for alt in alternatives:
        for group in split_top(alt, (";",)):
            pieces = [p for chunk in split_top(group, (",",)) for p in split_top(chunk, _AND_SPLIT)]
            pieces = [re.sub(r"^(?:and|or)\s+", "", p).strip() for p in pieces]
            pieces = [p for p in pieces if p]
            values = [value_of(p, gold_is_equation) for p in pieces]
            # "p = 5, q = 2; p = 7, q = 2": a group of assignments to different names is one solution (a tuple)
            named = [lab for lab, _ in values if lab]
            if len(values) > 1 and len(named) == len(values) and len(set(named)) == len(named) and len(alternatives) + s.count(";") > 1:
                parts.append("(" + ", ".join(v for _, v in values) + ")")
                continue
            parts.extend(pieces)
    expanded: list[str] = []
    for p in parts:
        pm = split_top(p, ("\\pm",))
        if len(pm) == 2 and pm[1]:
            base = pm[0] or "0"
            expanded += [f"{base} + {pm[1]}", f"{base} - {pm[1]}"]
            ordered, reason = False, reason or "plus-minus"
        else:
            expanded.append(p)
    values = [value_of(p, gold_is_equation) for p in expanded]
    labels = tuple(lab for lab, _ in values)
    items = tuple(v for _, v in values)
    if len(items) > 1:
        named = [lab for lab in labels if lab]
        if labels[0] and not any(labels[1:]):
            ordered, reason = False, reason or "values of one name"        # a = 4, -8, -10
        elif named and len(named) == len(labels) and len(set(named)) == 1:
            ordered, reason = False, reason or "values of one name"        # p = -1 and p = 15/8
        elif all(re.fullmatch(r"\(.*\)|\[.*\]", it, re.DOTALL) and ("," in it or ";" in it) for it in items):
            ordered, reason = False, reason or "list of tuples"            # (1, 2), (2, 1): solutions
    if not ordered and len(items) > 1:                # a set: the same element written twice counts once
        seen: dict[str, int] = {}
        for i, it in enumerate(items):
            seen.setdefault(re.sub(r"\s+", "", it), i)
        keep = sorted(seen.values())
        items, labels = tuple(items[i] for i in keep), tuple(labels[i] for i in keep)
    return Shape(items, labels, ordered, reason)


def tuple_items(item: str) -> list[str] | None:
    """The entries of one parenthesised tuple '(1, 3)' (not an interval such as '(0, 1]'), else None."""
    s = item.strip()
    if not (s.startswith("(") and s.endswith(")")) or len(split_top(s, (",",))) != 1:
        return None
    inner = split_top(s[1:-1], (",",))
    if len(inner) == 1:
        inner = split_top(s[1:-1], (";",))            # "(0; -2; 6)"
    return inner if len(inner) > 1 else None


# ----------------------------------------------------------------------------------------------------
# Program syntax and the constant of integration
# ----------------------------------------------------------------------------------------------------

_PROGRAM_RE = re.compile(r"\*\*|(?<=[\w)])\s*\*\s*(?=[\w(])")


def is_program_syntax(s: str) -> bool:
    return bool(_PROGRAM_RE.search(s))


def program_to_latex(s: str) -> str:
    """x**2 -> x^{2}, 5*x -> 5 \\cdot x, log(x) -> \\log(x): an expression written as code, in LaTeX."""
    out = re.sub(r"\*\*\s*(\([^()]*\)|[\w.]+)", lambda m: "^{" + m.group(1) + "}", s)
    out = out.replace("*", " \\cdot ")
    out = re.sub(r"(?<![\\a-zA-Z])(sin|cos|tan|log|ln|exp|sqrt|asin|acos|atan|sinh|cosh|tanh)\s*\(", r"\\\1(", out)
    return out


_CONSTANT_RE = re.compile(r"\s*\+\s*([A-Z])\s*(?=$|[+-])")


def integration_constant(s: str) -> tuple[str, str | None]:
    """(expression without its '+ C' term, the constant's letter or None). The letter is a constant of integration
    when it is a lone capital added as a term of its own ('x^2 + C', 'x^2 + C + 5 - 5'), appearing nowhere else in an
    expression that has some other variable."""
    m = _CONSTANT_RE.search(s)
    if not m:
        return s, None
    rest = s[:m.start()] + s[m.end():]
    letter = m.group(1)
    if re.search(rf"(?<![A-Za-z\\]){letter}(?![A-Za-z])", rest) or not re.search(r"(?<![\\a-zA-Z])[a-zA-Z](?![a-zA-Z])", rest):
        return s, None
    return rest, letter


def malformed(s: str) -> bool:
    """Unbalanced brackets or a trailing operator: 'x**2 +', 'sin(x'."""
    depth = 0
    for ch in re.sub(r"\\[{}()\[\]]|\\left.|\\right.", "", s):
        if ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
            if depth < 0:
                return False if re.search(r"[\[(]", s) else True     # intervals like (0, 1] mix brackets
    if depth != 0 and not re.search(r"[\[(][^\[\]()]*[\])]", s):
        return True
    return bool(re.search(r"(?:[+\-*/^]|\*\*)\s*$", s.strip()))


# ----------------------------------------------------------------------------------------------------
# Inputs too large to evaluate
# ----------------------------------------------------------------------------------------------------

MAX_DIGITS = 100_000      # an integer with more digits than this is never evaluated
MAX_FACTORIAL = 5_000


def _exponent(s: str, i: int) -> tuple[str, int]:
    """The exponent that starts at s[i] ('{...}' by brace counting, or one token) and the index after it."""
    while i < len(s) and s[i] == " ":
        i += 1
    if i < len(s) and s[i] == "{":
        depth = 0
        for j in range(i, len(s)):
            depth += 1 if s[j] == "{" else -1 if s[j] == "}" else 0
            if depth == 0:
                return s[i + 1:j], j + 1
        return s[i + 1:], len(s)
    m = re.match(r"[\w.]+|\\[a-zA-Z]+", s[i:])
    return (m.group(), i + m.end()) if m else ("", i)


def _log10_value(expr: str, depth: int = 0) -> float | None:
    """log10 of an integer-literal expression made of powers ('9^{9^{9}}', '10^{10}', '2^{100}'), else None."""
    e = expr.strip().strip("{}()").strip()
    if depth > 20:
        return math.inf
    m = re.fullmatch(r"(\d+(?:\.\d+)?)", e)
    if m:
        v = float(m.group(1))
        return math.log10(v) if v > 0 else 0.0
    m = re.match(r"(\d+(?:\.\d+)?)\s*(?:\^|\*\*)\s*", e)
    if m:
        exp_text, end = _exponent(e, m.end()) if not e[m.end():].startswith("(") else (e[m.end():], len(e))
        if end < len(e) and e[end:].strip():
            return None
        base = float(m.group(1))
        lexp = _log10_value(exp_text, depth + 1)
        if lexp is None or base <= 1:
            return None if lexp is None else 0.0
        if lexp > 300:
            return math.inf
        return (10 ** lexp) * math.log10(base)
    return None


def too_large(s: str) -> str | None:
    """Why `s` must not be evaluated (a power tower or a power with more than MAX_DIGITS digits, a factorial beyond
    MAX_FACTORIAL), or None. Linear scan; no number is ever computed."""
    if len(s) > 20_000:
        return None
    for m in re.finditer(r"(\d+(?:\.\d+)?|\\pi|e|\\mathrm\{e\})\s*(?:\^|\*\*)\s*", s):
        exp_text, after = _exponent(s, m.end())
        chain = re.match(r"(?:\s*(?:\^|\*\*)\s*\{?\s*(\d+)\s*\}?)+", s[after:])
        if chain:                                                    # 7**7**7: powers group to the right
            numbers = [exp_text] + re.findall(r"\d+", chain.group())
            if not re.fullmatch(r"\d+", numbers[0]):
                return "a power tower"
            top = math.log10(max(float(numbers[-1]), 1.0))          # log10 of the exponent of the base
            for n in reversed(numbers[:-1]):
                top = (10 ** top) * math.log10(max(float(n), 1.0)) if top < 300 else math.inf
            if top > 3:                                              # that exponent is over 1000
                return "a power tower"
        if "^" in exp_text or "**" in exp_text:                        # a tower: a^(b^c)
            inner = _log10_value(exp_text)
            if inner is None or inner > 3:                            # the exponent itself is over 1000
                return "a power tower"
        lv = _log10_value(f"{m.group(1)}^{{{exp_text}}}") if m.group(1)[0].isdigit() else None
        if lv is not None and lv > MAX_DIGITS:
            return "a power of more than 100000 digits"
    for m in re.finditer(r"(\d+|\{[^{}]{1,40}\}|\([^()]{1,40}\))\s*!", s):
        arg = m.group(1).strip("{}()")
        lv = _log10_value(arg)
        if lv is not None and lv > math.log10(MAX_FACTORIAL):
            return "a factorial of more than 5000"
    return None


def decimal_exact_tolerance(decimal_text: str) -> Fraction | None:
    """The absolute tolerance with which a decimal written with 7 or more significant digits matches an exact value:
    half a unit in its last written place (it is that value rounded). None below 7 significant digits."""
    sig, after = significant_digits(decimal_text)
    if sig < 7:
        return None
    return Fraction(1, 2 * 10**after)
