"""Small text helpers shared by the answer verifiers: thinking blocks, markdown, normalisation.

Everything here is generic (no Temporal Clue or math knowledge) and runs in linear time: every regex is
either anchored with bounded repetition or scans without nested quantifiers, so a 1 MB adversarial
string costs milliseconds, not minutes.

Completions
-----------
`completion_text` is the one place where a completion becomes text, for every verifier and trainer: a str is
itself; a chat completion (a list of messages, or one message dict) is the content of its LAST assistant message
(a str, or content parts ``[{"type": "text", "text": ...}]`` joined); anything else is None (no answer).

Thinking blocks
---------------
`split_thinking` decides which part of a model response is its *answer* and which is *thinking*:

- text after the LAST closing tag (``</think>``) is the answer; everything before it is thinking, so a
  spoofed early ``</think>`` cannot smuggle thinking text into the answer;
- an opening tag after that point with no closing tag (an unclosed ``<think>``, e.g. a response cut
  off at the token limit) turns everything after it into thinking: it is never an answer sheet;
- with no tags at all the whole text is the answer, unless the caller says the response *starts*
  inside a thinking block (``starts_in_thinking=True``: chat templates such as Qwen3 or DeepSeek-R1
  put ``<think>`` in the prompt, so the completion only holds ``</think>``); then a response with no
  closing tag has no answer at all.

Tag names are matched case-insensitively with a little whitespace tolerance (``< /think >``); the
default names are ``think`` and ``thinking``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

__all__ = [
    "ThinkSplit",
    "split_thinking",
    "strip_thinking",
    "clean_unicode",
    "strip_markdown",
    "normalize_whitespace",
    "strip_trailing_punctuation",
    "normalize_text",
    "prompt_ends_in_thinking",
    "completion_text",
]

DEFAULT_THINK_TAGS: tuple[str, ...] = ("think", "thinking")

# Zero-width and invisible format characters a policy could use to split or hide words.
_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_WHITESPACE = re.compile(r"\s+")
# Trailing sentence punctuation. str.rstrip, not a regex: "[.?]+$" is quadratic on a long run of "?"
# that is not at the end (the engine retries the run from every position).
_TRAILING_PUNCT_CHARS = " \t\n\r\f\v.,;:!?\u3002\uff0e\u3001"
_WRAPPERS = (("(", ")"), ("[", "]"), ("{", "}"), ('"', '"'), ("'", "'"), ("\u201c", "\u201d"),
             ("\u2018", "\u2019"), ("\u00ab", "\u00bb"), ("<", ">"))
_LATEX_WRAP = re.compile(r"^\\(?:boxed|fbox|text|textbf|mathrm|textit|emph)\{(.*)\}$", re.DOTALL)
# Emphasis/code marks next to a non-word character (i.e. at the edge of a word): "**X**", "`X`",
# "Mr. **Green**". Marks between two word characters ("2*3", "a`b") are content and stay.
_MD_MARKS = re.compile(r"(?<!\w)[*`]+|[*`]+(?!\w)")
_MD_EDGE_CHARS = "_~"     # removed only at the edges of the whole text (they can be part of a name)


@dataclass(frozen=True)
class ThinkSplit:
    """A response split into its thinking and its answer part.

    thinking: all text judged to be thinking (tags removed between the pieces, joined by newlines).
    answer: the text that may hold an answer ("" when there is none).
    closed: False when the response ends inside an unclosed thinking block.
    had_thinking: whether any thinking tag was seen (or the response started inside one).
    """

    thinking: str
    answer: str
    closed: bool
    had_thinking: bool


def _tag_patterns(tags: Sequence[str]) -> tuple[re.Pattern, re.Pattern]:
    names = "|".join(re.escape(t) for t in sorted(tags, key=len, reverse=True))
    open_re = re.compile(rf"<\s{{0,3}}(?:{names})\s{{0,3}}>", re.IGNORECASE)
    close_re = re.compile(rf"<\s{{0,3}}/\s{{0,3}}(?:{names})\s{{0,3}}>", re.IGNORECASE)
    return open_re, close_re


_DEFAULT_PATTERNS = _tag_patterns(DEFAULT_THINK_TAGS)


def split_thinking(text: str, *, tags: Sequence[str] = DEFAULT_THINK_TAGS,
                   starts_in_thinking: bool = False) -> ThinkSplit:
    """Split `text` into thinking and answer (rules in the module docstring)."""
    if not isinstance(text, str):
        raise TypeError(f"split_thinking expects a str, got {type(text).__name__}")
    open_re, close_re = _DEFAULT_PATTERNS if tuple(tags) == DEFAULT_THINK_TAGS else _tag_patterns(tags)
    last_close = None
    for last_close in close_re.finditer(text):
        pass
    if last_close is not None:
        thinking, rest = text[:last_close.start()], text[last_close.end():]
        had = True
    elif starts_in_thinking:
        return ThinkSplit(thinking=text, answer="", closed=False, had_thinking=True)
    else:
        thinking, rest, had = "", text, False
    reopened = open_re.search(rest)
    if reopened is not None:
        # An unclosed block after the last close: all of it is thinking, never an answer sheet.
        thinking = thinking + "\n" + rest[reopened.end():]
        return ThinkSplit(thinking=thinking, answer=rest[:reopened.start()], closed=False, had_thinking=True)
    return ThinkSplit(thinking=thinking, answer=rest, closed=True, had_thinking=had)


def strip_thinking(text: str, *, tags: Sequence[str] = DEFAULT_THINK_TAGS,
                   starts_in_thinking: bool = False) -> str:
    """The answer part of `text` (see split_thinking)."""
    return split_thinking(text, tags=tags, starts_in_thinking=starts_in_thinking).answer


def prompt_ends_in_thinking(prompt: object, *, tags: Sequence[str] = DEFAULT_THINK_TAGS) -> bool:
    """True when a prompt (a string, or the text of the last chat message) ends with an open thinking
    tag, i.e. the completion that follows starts inside a thinking block."""
    if isinstance(prompt, list) and prompt and isinstance(prompt[-1], dict):
        prompt = prompt[-1].get("content")
    if not isinstance(prompt, str):
        return False
    tail = prompt[-64:].rstrip()
    open_re, _ = _DEFAULT_PATTERNS if tuple(tags) == DEFAULT_THINK_TAGS else _tag_patterns(tags)
    match = None
    for match in open_re.finditer(tail):
        pass
    return match is not None and match.end() == len(tail)


def clean_unicode(text: str) -> str:
    """NFKC-normalise (full-width letters, non-breaking spaces, ligatures) and drop invisible
    characters (zero-width spaces/joiners, soft hyphens, bidi controls)."""
    return _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))


def normalize_whitespace(text: str) -> str:
    """Collapse every run of whitespace to one space and strip both ends."""
    return _WHITESPACE.sub(" ", text).strip()


def strip_markdown(text: str) -> str:
    """Remove markdown emphasis/code marks at word edges (``**X**``, ```X```; ``2*3`` is kept),
    ``_``/``~`` around the whole text, and math/LaTeX wrappers around the whole text (``$X$``,
    ``\\boxed{X}``, ``\\text{X}``, ...; nested ones too, but not ``\\boxed{a} + \\boxed{b}``)."""
    if "*" in text or "`" in text:
        text = _MD_MARKS.sub("", text)
    text = text.strip().strip(_MD_EDGE_CHARS).strip()
    for _ in range(4):                      # nested wrappers, e.g. \boxed{\text{X}}
        if _wraps_whole(text, "$", "$"):
            text = text[1:-1].strip()
        match = _LATEX_WRAP.match(text)
        if match is None or not _wraps_whole("{" + match.group(1) + "}", "{", "}"):
            break
        text = match.group(1).strip()
    return text


def strip_trailing_punctuation(text: str) -> str:
    """Drop trailing sentence punctuation ('.', ',', ';', ':', '!', '?') and whitespace."""
    return text.rstrip(_TRAILING_PUNCT_CHARS)


def _wraps_whole(text: str, left: str, right: str) -> bool:
    """Whether text[0] == left opens a pair that closes exactly at the last character."""
    if len(text) < 2 or text[0] != left or text[-1] != right:
        return False
    inner = text[1:-1]
    if left == right:                       # quotes: no quote of the same kind inside
        return left not in inner
    depth = 0
    for ch in inner:                        # "(a) or (b)" starts and ends with brackets but is not wrapped
        if ch == left:
            depth += 1
        elif ch == right:
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


_WRAPPER_OPENERS = frozenset(left for left, _ in _WRAPPERS)


def _strip_wrappers(text: str) -> str:
    """Remove quotes/brackets that wrap the whole text ("'X'", "(X)", "[X]"), repeatedly."""
    for _ in range(4):
        if not text or text[0] not in _WRAPPER_OPENERS:
            break
        for left, right in _WRAPPERS:
            if _wraps_whole(text, left, right):
                text = text[1:-1].strip()
                break
        else:
            break
    return text


def normalize_text(text: str, *, casefold: bool = True, markdown: bool = True,
                   trailing_punctuation: bool = True, wrappers: bool = True,
                   leading_articles: Sequence[str] = ("the",)) -> str:
    """A comparison key for short answers.

    Steps: Unicode clean-up (clean_unicode); markdown and LaTeX wrappers removed (strip_markdown);
    case folded; whitespace collapsed; trailing punctuation dropped; quotes/brackets around the whole
    answer dropped; one leading article (default only "the") dropped. Each step can be switched off
    so a caller (e.g. a math verifier that must keep case) picks what fits.
    """
    if not isinstance(text, str):
        raise TypeError(f"normalize_text expects a str, got {type(text).__name__}")
    text = clean_unicode(text)
    if markdown:
        text = strip_markdown(text)
    if casefold:
        text = text.casefold()
    text = normalize_whitespace(text)
    for _ in range(3):  # punctuation inside wrappers and wrappers inside punctuation: "(X)." / "(X.)"
        before = text
        if trailing_punctuation:
            text = strip_trailing_punctuation(text)
        if wrappers:
            text = _strip_wrappers(text)
        if markdown:
            text = strip_markdown(text)
        if text == before:
            break
    for article in leading_articles:
        prefix = article + " "
        if text[:len(prefix)].casefold() == prefix.casefold() and len(text) > len(prefix):
            text = text[len(prefix):].lstrip()
            break
    return text


def completion_text(completion: Any) -> str | None:
    """The text of a completion (rules in the module docstring): a str, the last assistant message's content of a
    chat completion, or None when there is no text."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Mapping):
        completion = [completion]
    if not isinstance(completion, (list, tuple)):
        return None
    for message in reversed(completion):
        if not isinstance(message, Mapping) or message.get("role", "assistant") != "assistant":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, (list, tuple)):
            parts = [p.get("text") if isinstance(p, Mapping) else p for p in content]
            return "".join(p for p in parts if isinstance(p, str))
        return None
    return None
