"""``rlvr play temporal-clue``: solve a Temporal Clue case in the terminal, with a deduction notepad.

The game reads one command per line (a terminal, or piped stdin: ``printf 'hint\\nquit\\n' | rlvr play
temporal-clue --seed 1``), so it can be scripted and tested; end of input quits. Output is drawn with rich
and is plain text when stdout is not a terminal.

Pieces: ``Game`` holds the state and turns a command line into output (``handle``); the parsing helpers
(``match_names``, ``parse_time``, ``read_location``) are plain functions; ``run`` wires the CLI options.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from typing import TextIO

DIFFICULTIES = ("easy", "medium", "hard", "expert")
GAMES = ("temporal-clue",)


class CommandError(ValueError):
    """A command the game cannot carry out; the message tells the player what was expected."""


# ----- reading names and times ------------------------------------------------------------------------------
def _norm(text: str) -> str:
    return " ".join(re.sub(r"[.'’,]", " ", text.lower()).split())


def match_names(query: str, names: tuple[str, ...] | list[str], aliases: dict[str, str] | None = None) -> list[str]:
    """Names a player's words may mean, case-insensitive and ignoring dots: an exact name, a name that
    starts with the words ('lead' -> 'Lead Pipe'), or whose later words start with them ('green' ->
    'Mr. Green', 'scar' -> 'Miss Scarlet'). An exact match wins over prefixes; 1-based numbers ('3' or '#3')
    pick by position. aliases map extra words to names ('victim' -> 'Mr. Boddy')."""
    q = _norm(query)
    if not q:
        return []
    if aliases and q in aliases:
        return [aliases[q]]
    number = re.fullmatch(r"#?(\d+)", q)
    if number:
        i = int(number.group(1))
        return [names[i - 1]] if 1 <= i <= len(names) else []
    exact = [n for n in names if _norm(n) == q]
    if exact:
        return exact
    out = []
    for name in names:
        words = _norm(name).split()
        if any(" ".join(words[i:]).startswith(q) for i in range(len(words))):
            out.append(name)
    return out


def resolve_name(query: str, names, what: str, aliases: dict[str, str] | None = None) -> str:
    """The one name `query` means, or a CommandError that lists the choices."""
    found = match_names(query, names, aliases)
    if len(found) == 1:
        return found[0]
    if not found:
        raise CommandError(f"'{query}' is not a {what}; expected one of: {', '.join(names)}.")
    raise CommandError(f"'{query}' could be any of {', '.join(found)}; type more of the {what}'s name.")


_TIME = re.compile(r"(\d{1,2})(?::?(\d{2}))?(am|pm|a|p)?")


def clock_minutes(text: str) -> list[int]:
    """Minutes after midnight a time string may mean: '11pm', '11:00 PM', '23:00', 'midnight' give one;
    a 12-hour time without AM/PM ('11', '11:30') gives both readings; anything else gives []."""
    t = re.sub(r"[\s.]", "", text.lower())
    if t == "midnight":
        return [0]
    if t == "noon":
        return [720]
    m = _TIME.fullmatch(t)
    if not m:
        return []
    hour, minute, suffix = int(m.group(1)), int(m.group(2) or 0), m.group(3)
    if minute >= 60 or hour > 24:
        return []
    if suffix:
        if not 1 <= hour <= 12:
            return []
        return [(hour % 12 + (12 if suffix.startswith("p") else 0)) * 60 + minute]
    if hour == 0 or hour >= 13:  # a 24-hour time
        return [(hour % 24) * 60 + minute]
    return [(hour % 12) * 60 + minute, (hour % 12 + 12) * 60 + minute]


def parse_time(text: str, times: tuple[str, ...]) -> int:
    """The index in `times` (display strings like '11:45 PM') that `text` means, or a CommandError."""
    wanted = clock_minutes(text)
    found = [i for i, shown in enumerate(times) if set(clock_minutes(shown)) & set(wanted)]
    if len(found) == 1:
        return found[0]
    if not wanted:
        raise CommandError(f"'{text}' is not a time; write it like 11pm, 11:30 PM or 23:30.")
    if not found:
        raise CommandError(f"{text} is not one of this case's times: {', '.join(times)}.")
    raise CommandError(f"'{text}' could be {' or '.join(times[i] for i in found)}; add AM or PM.")


@dataclass(frozen=True)
class Location:
    piece: str
    time: int
    room: int


def read_location(words: list[str], pieces: tuple[str, ...], rooms: tuple[str, ...], times: tuple[str, ...],
                  aliases: dict[str, str] | None = None) -> Location:
    """Read 'PIECE TIME ROOM' (or 'PIECE ROOM TIME'; the time may be left out when the case has one time)
    from words, trying every way to split them; exactly one reading must make sense."""
    readings: set[Location] = set()
    errors: list[tuple[int, str]] = []  # (how many parts were understood, what went wrong)

    def attempt(parts: list[tuple[str, str]]) -> None:
        got: dict[str, object] = {}
        for done, (kind, text) in enumerate(parts):
            try:
                if kind == "piece":
                    got[kind] = resolve_name(text, pieces, "piece (suspect, weapon or Mr. Boddy)", aliases)
                elif kind == "room":
                    got[kind] = rooms.index(resolve_name(text, rooms, "room"))
                else:
                    got[kind] = parse_time(text, times)
            except CommandError as exc:
                errors.append((done, str(exc)))
                return
        readings.add(Location(got["piece"], got.get("time", 0), got["room"]))

    n = len(words)
    for i in range(1, n):
        piece = " ".join(words[:i])
        if len(times) == 1:
            attempt([("piece", piece), ("room", " ".join(words[i:]))])
        for j in range(i + 1, n):
            a, b = " ".join(words[i:j]), " ".join(words[j:])
            attempt([("piece", piece), ("time", a), ("room", b)])
            attempt([("piece", piece), ("room", a), ("time", b)])
    if len(readings) == 1:
        return readings.pop()
    shape = "PIECE ROOM" if len(times) == 1 else "PIECE TIME ROOM"
    if not readings:
        if not errors:
            raise CommandError(f"expected {shape}, e.g. 'Mr. Green {'' if len(times) == 1 else times[0] + ' '}{rooms[0]}'.")
        best = max(done for done, _ in errors)
        reason = next(msg for done, msg in errors if done == best)
        raise CommandError(f"could not read '{' '.join(words)}' as {shape}: {reason}")
    shown = "; ".join(f"{r.piece} {times[r.time]} {rooms[r.room]}" for r in sorted(readings, key=lambda r: (r.piece, r.time, r.room)))
    raise CommandError(f"'{' '.join(words)}' can be read more than one way ({shown}); spell it out.")


# ----- commands ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Command:
    name: str
    aliases: tuple[str, ...]
    usage: str
    about: str
    examples: tuple[str, ...] = ()


COMMANDS: tuple[Command, ...] = (
    Command("help", ("?",), "help [COMMAND]", "list the commands, or explain one"),
    Command("case", (), "case", "show the whole case again (lists, board, clues, questions)"),
    Command("board", ("map",), "board", "show the board: room numbers and compass"),
    Command("clues", (), "clues", "list the numbered clues"),
    Command("questions", (), "questions", "list the lettered questions"),
    Command("notes", ("notepad", "grid"), "notes [PIECE]",
            "show the notepad: where each piece can be at each time, motives, the murder; "
            "with a piece, its row in room names", ("notes", "notes Scarlet")),
    Command("mark", ("m", "yes"), "mark PIECE TIME ROOM | mark SUSPECT MOTIVE | mark who|what|where|when|why VALUE",
            "confirm a fact on the notepad",
            ("mark Scarlet 11pm Kitchen", "mark green 23:30 dining", "mark who Mr. Green", "mark why Greed")),
    Command("x", ("no", "not", "rule"), "x PIECE TIME ROOM | x SUSPECT MOTIVE | x who|what|... VALUE",
            "rule a fact out on the notepad", ("x Scarlet 11:00 PM Kitchen", "x where Hall")),
    Command("unmark", ("erase",), "unmark PIECE TIME ROOM | unmark SUSPECT MOTIVE | unmark who|... VALUE",
            "erase one mark (confirmed or ruled out)", ("unmark Scarlet 11pm Kitchen",)),
    Command("motive", (), "motive SUSPECT MOTIVE", "confirm a suspect's motive", ("motive Scarlet Greed",)),
    Command("nomotive", (), "nomotive SUSPECT MOTIVE", "rule a motive out for a suspect", ("nomotive Plum Fear",)),
    Command("undo", (), "undo", "take back the last change to the notepad"),
    Command("answer", ("ans",), "answer LETTER VALUE   (or just: A. VALUE)", "write an answer on the sheet",
            ("answer A Mr. Green", "A. Mr. Green", "D 11:30pm")),
    Command("fill", (), "fill", "fill unanswered questions from what the notepad confirms"),
    Command("answers", ("sheet",), "answers", "show your answer sheet"),
    Command("submit", (), "submit", "grade your answer sheet (right or wrong per question); you may fix and resubmit"),
    Command("hint", (), "hint", "reveal one fact the clues force that your notepad lacks (or point at a wrong mark)"),
    Command("solution", ("giveup",), "solution", "show the answers and end the game"),
    Command("quit", ("exit", "q"), "quit", "leave the game (end of input does the same)"),
)
_MURDER_WORDS = {"who": "suspect", "murderer": "suspect", "what": "weapon", "weapon": "weapon",
                 "where": "room", "when": "time", "why": "motive"}


def find_command(word: str) -> Command:
    """The command a word names: a name, an alias, or an unambiguous prefix of a name."""
    w = word.lower()
    for c in COMMANDS:
        if w == c.name or w in c.aliases:
            return c
    found = [c for c in COMMANDS if c.name.startswith(w)]
    if len(found) == 1:
        return found[0]
    if found:
        raise CommandError(f"'{word}' could be {', '.join(c.name for c in found)}.")
    raise CommandError(f"unknown command '{word}'. Type help for the list of commands.")


# ----- the game ------------------------------------------------------------------------------------------------
class Game:
    """One case being played: the puzzle, the player's notepad and answer sheet, hints and submissions."""

    def __init__(self, puzzle, console, *, seed_note: str = ""):
        from rlvr_gym.envs.temporal_clue.deduction import Deducer
        from rlvr_gym.envs.temporal_clue.elements import VICTIM
        from rlvr_gym.envs.temporal_clue.notepad import Notepad

        self.puzzle = puzzle
        self.setting = puzzle.setting
        self.console = console
        self.notepad = Notepad(puzzle.setting)
        self.answers: dict[str, str] = {}
        self.letters = [q.letter for q in puzzle.questions]
        self.candidates = puzzle.candidates()
        self.hints = 0
        self.submissions: list[float] = []
        self.finished = False
        self.seed_note = seed_note
        self.aliases = {"victim": VICTIM, "body": VICTIM, "boddy": VICTIM}
        self.deducer = Deducer(puzzle)

    # ----- output helpers
    def say(self, text: str, style: str | None = None) -> None:
        from rich.text import Text

        self.console.print(Text(text, style=style or ""))

    def ok(self, text: str) -> None:
        self.say(text, "green")

    def warn(self, text: str) -> None:
        self.say(text, "yellow")

    def busy(self, what: str):
        """A spinner while the solver works, on a terminal only (piped output stays a clean transcript)."""
        import contextlib

        return self.console.status(what) if self.console.is_terminal else contextlib.nullcontext()

    # ----- case display
    def show_intro(self) -> None:
        from rich.panel import Panel
        from rich.text import Text

        p = self.puzzle
        title = f"Temporal Clue - case {p.id} ({p.difficulty})"
        story = ("Mr. Boddy was found dead at Tudor Mansion. Work out who killed him, with what, where"
                 + (", when" if len(self.setting.times) > 1 else "") + " and why, from the clues below."
                 + (f"\n{self.seed_note}" if self.seed_note else ""))
        self.console.print(Panel(Text(story), title=title, expand=False))
        self.show_case()
        self.say("Type help for the commands; a notepad is ready (notes). Good luck, detective.", "bold")

    def show_case(self) -> None:
        self.show_lists()
        self.show_board()
        self.show_rules()
        self.show_clues()
        self.show_questions()

    def show_lists(self) -> None:
        from rich.table import Table

        s = self.setting
        table = Table(title="Persons, weapons, motives, times", title_justify="left")
        columns = [("Suspects", s.suspects), ("Weapons", s.weapons)]
        if s.motive_counts is None:
            columns.append(("Motives", s.motives))
        else:
            columns.append(("Motives (suspects sharing it)", tuple(f"{m} ({c})" for m, c in zip(s.motives, s.motive_counts))))
        if len(s.times) > 1:
            columns.append(("Times", s.times))
        for header, _ in columns:
            table.add_column(header)
        for i in range(max(len(values) for _, values in columns)):
            table.add_row(*(values[i] if i < len(values) else "" for _, values in columns))
        self.console.print(table)

    def show_board(self) -> None:
        from rich import box
        from rich.table import Table

        s = self.setting
        grid = Table(show_header=False, box=box.SQUARE, show_lines=True, padding=(0, 1))
        for _ in range(s.columns):
            grid.add_column(justify="center")
        for r in range(s.rows):
            cells = []
            for c in range(s.columns):
                i = r * s.columns + c
                cells.append(f"{i + 1}\n{s.rooms[i]}" if i < len(s.rooms) else "-")
            grid.add_row(*cells)
        outer = Table.grid(padding=(0, 1))
        outer.add_column(justify="right", vertical="middle")
        outer.add_column(justify="center")
        outer.add_column(vertical="middle")
        outer.add_row("", "N", "")
        outer.add_row("W", grid, "E")
        outer.add_row("", "S", "")
        self.say("The board (rooms are adjacent when they share a side):", "bold")
        self.console.print(outer)

    def show_rules(self) -> None:
        s = self.setting
        lines = []
        if len(s.times) > 1:
            lines.append("At each time every suspect and Mr. Boddy stays put or moves to a room next door "
                         "(north, south, east or west); a weapon moves only when a suspect carries it.")
        if s.motive_counts is None:
            lines.append("Each suspect has a different motive.")
        else:
            lines.append("Motives may be shared; the number after each motive says how many suspects have it.")
        lines.append("The murderer was alone with Mr. Boddy and at least one weapon at the time of the murder; "
                     "Mr. Boddy stays in the murder room from then on. Clues about Mr. Boddy hold dead or alive.")
        if s.motive_counts is None:
            lines.append("'The suspect motivated by M' is the one suspect whose motive is M.")
        else:
            lines.append("'A suspect motivated by M' holds when at least one suspect with motive M fits the statement.")
        if self.puzzle.difficulty == "original":
            lines.append("In these (original release) clues 'X or Y' means exactly one of the two is true.")
        else:
            lines.append("'Either X, or Y, but not both' means exactly one is true; 'X, or Y (or both)' at least one.")
        for line in lines:
            self.say("- " + line)

    def show_clues(self) -> None:
        self.say("Clues:", "bold")
        width = len(str(len(self.puzzle.clue_texts)))
        for i, text in enumerate(self.puzzle.clue_texts, start=1):
            self.say(f"{i:>{width}}. {text}")

    def show_questions(self) -> None:
        self.say("Questions:", "bold")
        for q in self.puzzle.questions:
            answer = self.answers.get(q.letter)
            self.say(f"{q.letter}. {q.text}  [{q.answer_type}]" + (f"  -> {answer}" if answer else ""))

    def show_notes(self, words: list[str]) -> None:
        from rich.table import Table
        from rich.text import Text

        s, pad = self.setting, self.notepad
        if words:
            piece = resolve_name(" ".join(words), pad.pieces, "piece (suspect, weapon or Mr. Boddy)", self.aliases)
            table = Table(title=f"Notepad: {piece}", title_justify="left")
            table.add_column("time")
            table.add_column("room")
            for t, shown in enumerate(s.times):
                state = pad.state(("at", piece, t))
                out = [r for r in range(len(s.rooms)) if r not in state.possible]
                if state.confirmed is not None:
                    text = Text(s.rooms[state.confirmed] + (" (the only room left)" if state.derived else ""),
                                style="bold green")
                elif not state.possible:
                    text = Text("no room left: check your marks", style="red")
                elif not out:
                    text = Text("open", style="dim")
                elif len(out) < len(state.possible):
                    text = Text("not " + ", ".join(s.rooms[r] for r in out))
                else:
                    text = Text("one of " + ", ".join(s.rooms[r] for r in state.possible))
                table.add_row(shown, text)
            self.console.print(table)
            return
        times, rows = pad.location_grid()
        table = Table(title="Notepad: where was each piece? (room numbers as on the board)", title_justify="left")
        table.add_column("piece")
        short = len(times) > 6  # '11:30p' keeps a long night on one screen
        for t in (times if len(times) > 1 else ["room"]):
            t = t.replace(" PM", "p").replace(" AM", "a") if short else t
            table.add_column(t, justify="center")
        for piece, cells in rows:
            styled = [Text(c, style="bold green" if c.startswith("[") else "red" if c.startswith("!")
                           else "dim" if c == "?" else "") for c in cells]
            table.add_row(piece, *styled)
        self.console.print(table)
        self.say("Rooms: " + "  ".join(f"{i + 1} {r}" for i, r in enumerate(s.rooms)), "dim")
        self.say("[3] confirmed   ? open   2,5 still possible   not 1,4 ruled out", "dim")
        motives, mrows = pad.motive_grid()
        mtable = Table(title="Motives" + (" (each suspect has a different one)" if s.motive_counts is None else ""),
                       title_justify="left")
        mtable.add_column("suspect")
        counts = s.motive_counts or (None,) * len(motives)
        for m, count in zip(motives, counts):  # shared motives: how many suspects have each
            mtable.add_column(m if count is None else f"{m} ({count})", justify="center")
        for suspect, cells in mrows:
            mtable.add_row(suspect, *(Text(c, style="bold green" if c == "yes" else "dim") for c in cells))
        self.console.print(mtable)
        murder = Table(title="The murder", title_justify="left", show_header=False)
        murder.add_column("field")
        murder.add_column("what the notepad says")
        for label, text in pad.murder_grid():
            murder.add_row(label, Text(text, style="bold green" if text != "?" and " / " not in text else ""))
        self.console.print(murder)
        self.say("Known: " + ", ".join(f"{name} {k}/{n}" for name, (k, n) in pad.progress().items()), "bold")
        for problem in pad.problems():
            self.warn("Warning: " + problem)

    def show_answers(self) -> None:
        from rich.table import Table

        table = Table(title="Answer sheet", title_justify="left")
        for header in ("", "question", "your answer"):
            table.add_column(header)
        for q in self.puzzle.questions:
            table.add_row(q.letter, q.text, self.answers.get(q.letter, "-"))
        self.console.print(table)

    def show_help(self, words: list[str]) -> None:
        if words:
            c = find_command(words[0])
            self.say(f"{c.usage}", "bold")
            self.say(f"  {c.about}" + (f" (also: {', '.join(c.aliases)})" if c.aliases else ""))
            for e in c.examples:
                self.say(f"  e.g. {e}")
            return
        from rich.table import Table

        table = Table(title="Commands (names may be shortened: cl = clues)", title_justify="left")
        table.add_column("command")
        table.add_column("what it does")
        table.add_column("example")
        for c in COMMANDS:
            table.add_row(c.usage, c.about, c.examples[0] if c.examples else c.name)
        self.console.print(table)
        self.say("Names: any unambiguous part (scarlet, green, lead, dining). Times: 11pm, 11:30 PM, 23:30"
                 + ("" if len(self.setting.times) > 1 else " (this case has one time; leave it out)")
                 + ". Rooms may be given by board number (#3).", "dim")

    # ----- command handling
    def handle(self, line: str) -> bool:
        """Carry out one command line; False when the game is over."""
        line = line.strip()
        if not line:
            return True
        try:
            return self._dispatch(line)
        except CommandError as exc:
            self.say(str(exc), "red")
            return True

    def _dispatch(self, line: str) -> bool:
        m = re.match(r"([A-Za-z])\s*[.:)]\s*(.*)$", line) or re.match(r"([A-Za-z])\s+(.+)$", line)
        if m and m.group(1).upper() in self.letters:  # 'A. Mr. Green', 'a green' (letters go up to H)
            self.answer(m.group(1).upper(), m.group(2))
            return True
        word, *words = line.split()
        command = find_command(word)
        name = command.name
        if name == "help":
            self.show_help(words)
        elif name == "case":
            self.show_case()
        elif name == "board":
            self.show_board()
        elif name == "clues":
            self.show_clues()
        elif name == "questions":
            self.show_questions()
        elif name == "notes":
            self.show_notes(words)
        elif name in ("mark", "x", "unmark"):
            self.mark(words, {"mark": True, "x": False, "unmark": None}[name])
        elif name in ("motive", "nomotive"):
            self.mark_motive(words, name == "motive")
        elif name == "undo":
            self.say(self.notepad.undo())
        elif name == "answer":
            if not words:
                raise CommandError("usage: answer LETTER VALUE, e.g. answer A Mr. Green")
            letter = words[0].rstrip(".:)").upper()
            if letter not in self.letters:
                raise CommandError(f"'{words[0]}' is not a question letter; the questions are {', '.join(self.letters)}.")
            self.answer(letter, " ".join(words[1:]))
        elif name == "fill":
            self.fill()
        elif name == "answers":
            self.show_answers()
        elif name == "submit":
            return self.submit()
        elif name == "hint":
            self.hint()
        elif name == "solution":
            self.show_solution()
            return False
        elif name == "quit":
            self.say("You leave the case unsolved." if not self.finished else "Goodbye.")
            self.say_summary()
            return False
        return True

    def _report(self, messages: list[str]) -> None:
        for msg in messages:
            if msg.startswith("Warning"):
                self.warn(msg)
            elif msg.startswith(("Confirmed", "So:")):
                self.ok(msg)
            else:
                self.say(msg)

    def mark(self, words: list[str], value: bool | None) -> None:
        s, pad = self.setting, self.notepad
        verb = {True: "mark", False: "x", None: "unmark"}[value]
        if not words:
            raise CommandError(f"usage: {verb} PIECE TIME ROOM, {verb} SUSPECT MOTIVE or {verb} who|what|where|when|why VALUE.")
        field = _MURDER_WORDS.get(words[0].lower())
        if field is not None:
            key = ("murder", field)
            if field not in pad.murder_fields():
                raise CommandError(f"this case does not ask '{words[0]}' (there is only one choice).")
            text = " ".join(words[1:])
            if not text:
                raise CommandError(f"usage: {verb} {words[0].lower()} VALUE")
            if field == "time":
                option = parse_time(text, s.times)
            else:
                option = pad.options(key).index(resolve_name(text, pad.options(key), field))
            self._report(pad.mark(key, option, value))
            return
        try:
            loc = read_location(words, pad.pieces, s.rooms, s.times, self.aliases)
        except CommandError as location_error:
            try:  # 'mark SUSPECT MOTIVE' is the other reading
                suspect, motive = self._read_motive(words, verb)
            except CommandError:
                raise location_error from None
            self._report(pad.mark_motive(suspect, motive, value))
            return
        self._report(pad.mark_at(loc.piece, loc.time, loc.room, value))

    def _read_motive(self, words: list[str], verb: str) -> tuple[str, str]:
        """Read 'SUSPECT MOTIVE' from words (names of any length)."""
        s = self.setting
        error = ""
        for i in range(1, len(words)):
            try:
                return (resolve_name(" ".join(words[:i]), s.suspects, "suspect"),
                        resolve_name(" ".join(words[i:]), s.motives, "motive"))
            except CommandError as exc:
                error = f" ({exc})"
        raise CommandError(f"usage: {verb} SUSPECT MOTIVE, e.g. {verb} {s.suspects[0]} {s.motives[0]}{error}")

    def mark_motive(self, words: list[str], value: bool) -> None:
        suspect, motive = self._read_motive(words, "motive" if value else "nomotive")
        self._report(self.notepad.mark_motive(suspect, motive, value))

    # ----- answers
    def normalise_answer(self, letter: str, text: str) -> str:
        text = text.strip().rstrip(".")
        if not text:
            raise CommandError(f"answer {letter} what? e.g. answer {letter} {self.candidates[letter][0]}")
        choices = tuple(self.candidates[letter])
        question = next(q for q in self.puzzle.questions if q.letter == letter)
        if question.answer_type == "TIME":
            return choices[parse_time(text, choices)] if clock_minutes(text) else resolve_name(text, choices, "time")
        return resolve_name(text, choices, question.answer_type.lower())

    def answer(self, letter: str, text: str) -> None:
        value = self.normalise_answer(letter, text)
        self.answers[letter] = value
        question = next(q for q in self.puzzle.questions if q.letter == letter)
        self.ok(f"{letter}. {value}   ({question.text})")

    def fill(self) -> None:
        """Answer each open question whose answer the notepad confirms."""
        pad, s = self.notepad, self.setting
        filled = []
        for q in self.puzzle.questions:
            if q.letter in self.answers:
                continue
            value = None
            if q.kind in ("suspect", "weapon", "room", "time", "motive"):
                key = ("murder", q.kind)
                state = pad.state(key)
                if state.confirmed is not None:
                    value = pad.options(key)[state.confirmed]
                elif q.kind == "motive":
                    who = pad.state(("murder", "suspect")).confirmed
                    if who is not None:
                        own = pad.state(("motive", s.suspects[who])).confirmed
                        value = None if own is None else s.motives[own]
            elif q.kind == "where" and q.ref is not None and q.ref.name in pad.pieces and q.time is not None:
                room = pad.state(("at", q.ref.name, q.time)).confirmed
                value = None if room is None else s.rooms[room]
            elif q.kind == "where" and q.ref is not None and q.ref.kind == "motive" and q.ref.name in s.motives:
                # "Where was the suspect motivated by M at T?": the one confirmed holder's room
                m = s.motives.index(q.ref.name)
                holders = [x for x in s.suspects if pad.state(("motive", x)).confirmed == m]
                room = pad.state(("at", holders[0], q.time)).confirmed if len(holders) == 1 else None
                value = None if room is None else s.rooms[room]
            elif q.kind == "motive_of" and q.ref is not None and q.ref.name in s.suspects:
                own = pad.state(("motive", q.ref.name)).confirmed
                value = None if own is None else s.motives[own]
            elif q.kind == "who_motive" and q.ref is not None and q.ref.name in s.motives:
                m = s.motives.index(q.ref.name)
                holders = [x for x in s.suspects if pad.state(("motive", x)).confirmed == m]
                value = holders[0] if len(holders) == 1 else None
            if value is not None and value in self.candidates[q.letter]:
                self.answers[q.letter] = value
                filled.append(f"{q.letter}. {value}")
        if filled:
            self.ok("Filled from the notepad: " + "; ".join(filled))
        else:
            self.say("The notepad confirms no answer to an open question yet.")

    def response_text(self) -> str:
        """The answer sheet as an answer template ('A. Mr. Green' lines), as a model would write it."""
        return "\n".join(f"{letter}. {self.answers[letter]}" for letter in self.letters if letter in self.answers)

    def submit(self) -> bool:
        from rich.table import Table
        from rich.text import Text

        from rlvr_gym.verifiers.temporal_clue import grade

        missing = [letter for letter in self.letters if letter not in self.answers]
        if not self.answers:
            raise CommandError(f"your answer sheet is empty: answer first, e.g. 'A. {self.candidates[self.letters[0]][0]}'.")
        result = grade(self.response_text(), self.puzzle.solution, candidates=self.candidates)
        self.submissions.append(result.reward)
        table = Table(title=f"Submission {len(self.submissions)}", title_justify="left")
        for header in ("", "question", "your answer", "verdict"):
            table.add_column(header)
        for q in self.puzzle.questions:
            right = result.correct.get(q.letter, False)
            reason = "" if right else result.reasons.get(q.letter, "")
            reason = "" if reason == "wrong" else reason
            verdict = Text("right" if right else "wrong" + (f" ({reason})" if reason else ""),
                           style="bold green" if right else "bold red")
            table.add_row(q.letter, q.text, self.answers.get(q.letter, "-"), verdict)
        self.console.print(table)
        n_right = sum(bool(result.correct.get(letter)) for letter in self.letters)
        self.say(f"Reward: {result.reward:.2f} ({n_right} of {len(self.letters)} right)", "bold")
        if n_right == len(self.letters):
            self.finished = True
            self.ok("Case closed! Every answer is right.")
            self.say_summary()
            return False
        if missing:
            self.say(f"Unanswered: {', '.join(missing)}.")
        self.say("Change answers and submit again, or type solution to see the answers.")
        return True

    def show_solution(self) -> None:
        from rich.table import Table
        from rich.text import Text

        table = Table(title="Solution", title_justify="left")
        for header in ("", "question", "answer", "yours"):
            table.add_column(header)
        solution = self.puzzle.solution
        for q in self.puzzle.questions:
            mine = self.answers.get(q.letter)
            mark = "" if mine is None else (" (right)" if mine.lower() == solution[q.letter].lower() else " (wrong)")
            table.add_row(q.letter, q.text, Text(solution[q.letter], style="bold"), (mine or "-") + mark)
        self.console.print(table)
        self.say_summary()

    def say_summary(self) -> None:
        parts = [f"hints used: {self.hints}"]
        if self.submissions:
            parts.append(f"submissions: {len(self.submissions)} (first reward {self.submissions[0]:.2f}, "
                         f"last {self.submissions[-1]:.2f})")
        self.say("; ".join(parts) + ".", "dim")

    # ----- hints
    def hint(self) -> None:
        """Point at a wrong mark if there is one; else reveal one fact the clues force that the notepad lacks, say
        why, and mark it (envs/temporal_clue/deduction.py finds it)."""
        pad = self.notepad
        with self.busy("Looking for a hint..."):
            hint = self.deducer.hint(pad)
        if hint.kind == "no-world":
            raise CommandError("no hint available: the solver found no world that fits these clues.")
        if hint.kind == "mistake":
            self.hints += 1
            self.warn(f"Hint: check your notepad. You {'confirmed' if hint.value else 'ruled out'} "
                      f"'{pad.describe(hint.key, hint.option)}', but the clues say otherwise.")
            return
        if hint.kind == "done":
            self.say("No hint left: your notepad already confirms everything.")
            return
        if hint.kind == "none":
            self.say("No hint found: the solver could not prove any unmarked fact in time.")
            return
        self.hints += 1
        self.ok(f"Hint: {pad.describe(hint.key, hint.option)}.")
        self.say("Why: " + hint.why)
        self._report(pad.mark(hint.key, hint.option, True))


# ----- CLI wiring ------------------------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = ("In the game type help for the commands (mark/x facts on the notepad, notes, hint, "
                     "answer, submit, solution, quit). Commands can be piped: "
                     "printf 'hint\\nnotes\\n' | rlvr play temporal-clue --seed 1")
    parser.add_argument("game", choices=GAMES, help="the game to play")
    parser.add_argument("--difficulty", choices=DIFFICULTIES, default=None,
                        help="size of the case (default easy; ignored with --puzzles)")
    parser.add_argument("--players", type=int, default=None,
                        help="size the case like the original's P-player puzzles (1..6) instead of a preset")
    parser.add_argument("--seed", type=int, default=None, help="seed of the generated case (default: random, shown)")
    parser.add_argument("--puzzles", default=None, metavar="FILE",
                        help="play a case from a file: JSONL of our puzzles or an original-release JSON list")
    parser.add_argument("--index", type=int, default=0, help="which case of --puzzles (0-based, default 0)")
    parser.add_argument("--plain", action="store_true", help="no colours or styles")


def load_puzzle(args) -> tuple[object, str]:
    """The puzzle the options ask for, and a note for the player on how to get it again."""
    if args.puzzles:
        from rlvr_gym.envs.temporal_clue.env import PuzzleFile

        puzzles = PuzzleFile(args.puzzles)
        if not 0 <= args.index < len(puzzles):
            raise ValueError(f"--index {args.index} is out of range: {args.puzzles} holds {len(puzzles)} puzzles (0..{len(puzzles) - 1})")
        return puzzles[args.index], f"From {args.puzzles}, index {args.index}."
    from rlvr_gym.envs.temporal_clue.config import resolve_config
    from rlvr_gym.envs.temporal_clue.generator import generate_puzzle

    if args.players is not None and args.difficulty is not None:
        raise ValueError("give --difficulty or --players, not both")
    preset = None if args.players is not None else (args.difficulty or "easy")
    config = resolve_config(preset, players=args.players)
    seed = args.seed
    if seed is None:
        import random

        seed = random.SystemRandom().randrange(1_000_000)
    how = f"--players {args.players}" if args.players is not None else f"--difficulty {preset}"
    return generate_puzzle(config, seed), f"Play it again with: rlvr play temporal-clue {how} --seed {seed}"


def _read_line(stdin: TextIO, console, interactive: bool) -> str | None:
    """One command line, or None at end of input. Piped input is echoed so a transcript reads well."""
    if interactive:
        try:
            return input("> ")
        except EOFError:
            return None
    console.print("> ", end="")
    line = stdin.readline()
    if not line:
        console.print()
        return None
    console.print(line.rstrip("\n"), markup=False, highlight=False)
    return line


def play(game: Game, stdin: TextIO, interactive: bool = False) -> int:
    """Run the command loop until the game ends or the input does; returns the exit code (0, or 130
    after Ctrl-C)."""
    game.show_intro()
    while True:
        try:
            line = _read_line(stdin, game.console, interactive)
            if line is None:
                game.say("End of input: leaving the case.")
                game.say_summary()
                return 0
            if not game.handle(line):
                return 0
        except KeyboardInterrupt:
            game.say("\nInterrupted: leaving the case.")
            return 130


def run(args) -> int:
    from rich.console import Console

    stdout_tty = sys.stdout.isatty()
    console = Console(highlight=False, no_color=args.plain, width=None if stdout_tty else 120,
                      force_terminal=None if stdout_tty else False)
    try:
        if stdout_tty:
            with console.status("Preparing the case..."):
                puzzle, note = load_puzzle(args)
        else:
            puzzle, note = load_puzzle(args)
    except (ValueError, TypeError, FileNotFoundError, OSError) as exc:
        from rlvr_gym.cli.common import print_error

        print_error(str(exc))
        return 2
    game = Game(puzzle, console, seed_note=note)
    interactive = sys.stdin.isatty() and stdout_tty
    return play(game, sys.stdin, interactive)
