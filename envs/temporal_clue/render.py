"""Words for a Temporal Clue puzzle: clue sentences, question texts, the board drawing, the prompt.

Every sentence here says exactly what the model (model.py) checks; the prompt states every rule the
model uses. One-time puzzles (a single time) drop all time wording.
"""

from __future__ import annotations

from collections.abc import Sequence

from rlvr_gym.envs.temporal_clue.clues import (
    At, Clue, Either, HasMotive, Iff, Moved, MovedWeapon, Question, Ref, SameRoom, SolutionFact, Spatial,
    TogetherOnce,
)
from rlvr_gym.envs.temporal_clue.elements import VICTIM, Setting, room_phrase

VICTIM_FULL = "Mr. John Q. Boddy"
LETTERS = "ABCDEFGH"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def ref_phrase(ref: Ref, setting: Setting) -> str:
    """Noun phrase for a reference, in lower case where it is not a name."""
    if ref.kind == "suspect":
        return ref.name
    if ref.kind == "weapon":
        return f"the {ref.name}"
    if ref.kind == "victim":
        return VICTIM
    if ref.kind == "murderer":
        return "the murderer"
    if ref.kind == "murder_weapon":
        return "the murder weapon"
    if ref.kind == "motive":
        article = "the" if setting.motive_holders(ref.name) == 1 else "a"
        return f"{article} suspect motivated by {ref.name}"
    raise ValueError(f"unknown Ref kind {ref.kind!r}")


def _when(setting: Setting, t: int, prefix: str = " at ") -> str:
    """' at 11:30 PM', or '' in a one-time puzzle."""
    return "" if len(setting.times) == 1 else f"{prefix}{setting.times[t]}"


def _at_clause(at: At, s: Setting) -> str:
    return f"{ref_phrase(at.ref, s)} was {room_phrase(s.rooms[at.room])}{_when(s, at.time)}"


def clue_text(clue: Clue, s: Setting) -> str:
    """One clue as one sentence."""
    if isinstance(clue, SolutionFact):
        f, v = clue.field, clue.value
        if f == "suspect":
            return f"The murder was committed by {v}."
        if f == "weapon":
            return f"The murder weapon was the {v}."
        if f == "room":
            return f"The murder took place {room_phrase(s.rooms[v])}."
        if f == "time":
            return f"The murder took place at {s.times[v]}."
        if f == "motive":
            return f"The murderer's motive was {v}."
        raise ValueError(f"unknown SolutionFact field {f!r}")
    if isinstance(clue, At):
        return _cap(_at_clause(clue, s)) + "."
    if isinstance(clue, HasMotive):
        return f"{clue.suspect} was motivated by {clue.motive}."
    if isinstance(clue, Either):
        a, b = _at_clause(clue.a, s), _at_clause(clue.b, s)
        if clue.exclusive:
            return f"Either {a}, or {b}, but not both."
        return f"{_cap(a)}, or {b} (or both)."
    if isinstance(clue, Iff):
        return f"{_cap(_at_clause(clue.a, s))} if and only if {_at_clause(clue.b, s)}."
    if isinstance(clue, SameRoom):
        return f"{_cap(ref_phrase(clue.a, s))} and {ref_phrase(clue.b, s)} were in the same room{_when(s, clue.time)}."
    if isinstance(clue, TogetherOnce):
        where = room_phrase(s.rooms[clue.room])
        if len(s.times) == 1:
            return f"{_cap(ref_phrase(clue.a, s))} and {ref_phrase(clue.b, s)} were both {where}."
        return f"{_cap(ref_phrase(clue.a, s))} and {ref_phrase(clue.b, s)} were {where} together at some listed time."
    if isinstance(clue, Moved):
        return (f"{_cap(ref_phrase(clue.ref, s))} moved from the {s.rooms[clue.src]} to the {s.rooms[clue.dst]}"
                f"{_when(s, clue.time)}.")
    if isinstance(clue, MovedWeapon):
        return (f"{_cap(ref_phrase(clue.actor, s))} carried {ref_phrase(clue.weapon, s)} from the "
                f"{s.rooms[clue.src]} to the {s.rooms[clue.dst]}{_when(s, clue.time)}.")
    if isinstance(clue, Spatial):
        body = f"{ref_phrase(clue.a, s)} was in the room just {clue.direction} of {ref_phrase(clue.b, s)}"
        return f"{_when(s, clue.time, 'At ').strip()}, {body}." if len(s.times) > 1 else _cap(body) + "."
    raise TypeError(f"unknown clue type {type(clue).__name__}")


MAIN_QUESTION_TEXT = {
    "suspect": "Who murdered Mr. Boddy?",
    "weapon": "With which weapon was he killed?",
    "room": "In which room was he killed?",
    "time": "At what time was he killed?",
    "motive": "What was the murderer's motive?",
}
ANSWER_TYPE = {"suspect": "SUSPECT", "weapon": "WEAPON", "room": "ROOM", "time": "TIME", "motive": "MOTIVE",
               "where": "ROOM", "motive_of": "MOTIVE", "who_motive": "SUSPECT"}


def question_text(kind: str, s: Setting, ref: Ref | None = None, time: int | None = None) -> str:
    if kind in MAIN_QUESTION_TEXT:
        return MAIN_QUESTION_TEXT[kind]
    if kind == "where":
        return f"Where was {ref_phrase(ref, s)}{_when(s, time)}?"
    if kind == "motive_of":
        return f"What was {ref.name}'s motive?"
    if kind == "who_motive":
        return f"Which suspect was motivated by {ref.name}?"
    raise ValueError(f"unknown question kind {kind!r}")


def board_drawing(s: Setting) -> str:
    """The board as rows of room numbers between '|' with compass labels; '-' marks an empty cell."""
    width = max(3, len(str(len(s.rooms))) + 2)
    margin = " " * 6
    row_width = s.columns * (width + 1) + 1
    lines = [margin + "North".center(row_width).rstrip()]
    middle = s.rows // 2
    for row in range(s.rows):
        cells = []
        for col in range(s.columns):
            i = row * s.columns + col
            cells.append((str(i + 1) if i < len(s.rooms) else "-").center(width))
        left = "West  " if row == middle else margin
        right = "  East" if row == middle else ""
        lines.append(left + "|" + "|".join(cells) + "|" + right)
    lines.append(margin + "South".center(row_width).rstrip())
    return "\n".join(lines)


def answer_template(questions: Sequence[Question]) -> str:
    return "\n".join(f"{q.letter}. <{q.answer_type}>" for q in questions)


def _uses(clues: Sequence[Clue] | None, kind: type, test=None) -> bool:
    """Does any clue (or either part of an either/iff clue) have this type (and pass `test`)? With no
    structured clues at hand, assume it does."""
    if clues is None:
        return True
    for c in clues:
        for part in ((c, c.a, c.b) if isinstance(c, (Either, Iff)) else (c,)):
            if isinstance(part, kind) and (test is None or test(part)):
                return True
    return False


def _shared_motive_refs(clues: Sequence[Clue] | None, s: Setting) -> bool:
    """Does a clue speak of 'a suspect motivated by M' for a motive several suspects hold?"""
    if s.unique_motives:
        return False
    if clues is None:
        return True
    for c in clues:
        parts = (c.a, c.b) if isinstance(c, (Either, Iff)) else (c,)
        for part in parts:
            refs = [v for v in vars(part).values() if isinstance(v, Ref)]
            if any(r.kind == "motive" and s.motive_holders(r.name) > 1 for r in refs):
                return True
    return False


def compact_rules(s: Setting, clues: Sequence[Clue] | None = None) -> list[str]:
    """The rules in few words: what every puzzle needs, then one line per clue form whose meaning needs
    spelling out, only when a clue of that form is present ('Either ..., or ..., but not both' and
    '..., or ... (or both)' say exactly what they mean, so they need none)."""
    one_time = len(s.times) == 1
    rules = []
    if not one_time:
        rules.append("Between listed times, each person (a suspect or Mr. Boddy) stayed put or moved to an adjacent "
                     "room: north, south, east or west on the map. A weapon moved only with a suspect making the "
                     "same move.")
    rules.append(("The murderer was" if one_time else "At the murder, the murderer was")
                 + " with Mr. Boddy and the murder weapon, and no other suspect was in that room"
                 + ("." if one_time else "; the body stayed there afterwards.")
                 + " Clues about Mr. Boddy hold whether he was alive or dead.")
    if not one_time and (_uses(clues, Moved) or _uses(clues, MovedWeapon)):
        rules.append("'X moved from A to B at T': X was in A at the previous listed time and in B at T; "
                     "'X carried W from A to B at T': X and W both made that move.")
    if _uses(clues, Spatial):
        rules.append("'Just north of Y': in the map cell right above Y's room (south: below, east: right, "
                     "west: left).")
    if _shared_motive_refs(clues, s):
        rules.append("'A suspect motivated by M': at least one suspect with motive M makes the clue true.")
    return rules


def verbose_rules(s: Setting) -> list[str]:
    """Every rule spelled out in full, whatever the clues (TemporalClueConfig.verbose_rules)."""
    one_time = len(s.times) == 1
    rules = []
    if one_time:
        rules.append("Everything in this case happened at one moment: each suspect, each weapon and Mr. Boddy "
                     "was in exactly one room then.")
    else:
        rules += [
            "At each listed time, each suspect, each weapon and Mr. Boddy was in exactly one room.",
            "Between one listed time and the next, a person (a suspect or Mr. Boddy) either stayed in the same "
            "room or went to a room that shares a side with it on the map (north, south, east or west; never "
            "diagonally).",
            "Weapons never move by themselves: between one listed time and the next, a weapon stayed where it "
            "was, or went from one room to another only if at least one suspect made that same move from the "
            "same room to the same room.",
            "'X moved from room A to room B at time T' means X was in A at the listed time just before T and "
            "in B at T.",
            "'X carried W from room A to room B at time T' means X and W were both in A at the listed time just "
            "before T, and both in B at T.",
        ]
    rules += [
        "'The room just north of' a piece is the room in the neighbouring cell above that piece's room on the "
        "map (likewise south = below, east = right, west = left).",
        "The murder: one suspect killed Mr. Boddy with one of the weapons in one of the rooms"
        + ("" if one_time else " at one of the listed times")
        + ". At the time of the murder the murderer was in the same room as Mr. Boddy and the murder "
        "weapon, and no other suspect was in that room."
        + ("" if one_time else " From the time of the murder on, Mr. Boddy's body stayed in that room."),
        "Every statement about Mr. Boddy's whereabouts holds whether he was alive or dead at the time.",
        "'The murderer' and 'the murder weapon' mean that one person and that one weapon; the murderer is one "
        "of the suspects.",
    ]
    if s.unique_motives:
        rules.append("'The suspect motivated by M' means the one suspect whose motive is M.")
    else:
        rules.append("'The suspect motivated by M' means the one suspect whose motive is M, where only one "
                     "suspect has M; 'a suspect motivated by M' means at least one suspect whose motive is M: a "
                     "clue about 'a suspect motivated by M' is true if it holds for at least one such suspect.")
    rules.append("'Either ..., or ..., but not both' means exactly one of the two parts is true; "
                 "'..., or ... (or both)' means at least one is true.")
    return rules


def render_prompt(s: Setting, clue_texts: Sequence[str], questions: Sequence[Question],
                  clues: Sequence[Clue] | None = None, verbose: bool = False) -> str:
    """The full prompt: story, lists, board, rules, clues, questions and the answer template.

    Compact rules (default) state what every puzzle needs plus the meaning of the clue forms present in
    `clues` (all of them when `clues` is None); `verbose` states every rule at length."""
    one_time = len(s.times) == 1
    story = (
        f"{VICTIM_FULL} was found dead at Tudor Mansion after a dinner party. With the rules, the clues "
        "below fit exactly one account of the night: who killed him, with which weapon, where"
        + ("" if one_time else ", when")
        + (" and why" if len(s.motives) > 1 else "")
        + ", and where every person and weapon was"
        + ("." if one_time else " at each listed time.")
    )
    parts = [story, ""]
    parts += ["SUSPECTS", *(f"- {x}" for x in s.suspects), ""]
    parts += ["WEAPONS", *(f"- {x}" for x in s.weapons), ""]
    parts += ["ROOMS (numbered as on the map)", *(f"{i + 1}. {x}" for i, x in enumerate(s.rooms)), ""]
    parts += ["MAP", board_drawing(s), ""]
    if not one_time:
        parts += ["TIMES (in order)", *(f"- {x}" for x in s.times), ""]
    if s.unique_motives:
        parts += ["MOTIVES (each suspect has exactly one, and no two suspects share one)",
                  *(f"- {x}" for x in s.motives), ""]
    elif len(s.motives) > 1:  # one motive shared by all says nothing (the original left the list out too)
        parts += ["MOTIVES (each suspect has exactly one; the number says how many suspects share it)",
                  *(f"- {x}: {n} suspect{'s' if n != 1 else ''}" for x, n in zip(s.motives, s.motive_counts)), ""]
    rules = verbose_rules(s) if verbose else compact_rules(s, clues)
    parts += ["RULES", *(f"- {r}" for r in rules), ""]
    parts += ["CLUES", *(f"{i + 1}. {c}" for i, c in enumerate(clue_texts)), ""]
    parts += ["QUESTIONS", *(f"{q.letter}. {q.text}" for q in questions), ""]
    parts += [
        "End your reply with your answers, one line per question, exactly in this form, each <PLACEHOLDER> "
        "replaced by one name from the lists above" + ("" if one_time else " (a time as listed, e.g. " + s.times[-1] + ")")
        + ":",
        answer_template(questions),
    ]
    return "\n".join(parts)
