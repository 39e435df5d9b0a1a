"""The pieces of a Temporal Clue mystery: element pools, the Setting (what a puzzle is played on) and the
World (one complete account of the night).

Data flows: Setting (board, lists) -> World (simulated truth) -> clues -> Puzzle -> prompt text.
Everything here is plain data with tuples (ordered, hashable): no sets, so iteration order never depends
on PYTHONHASHSEED.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SUSPECTS: tuple[str, ...] = (
    "Miss Scarlet", "Mr. Green", "Mrs. White", "Mrs. Peacock", "Colonel Mustard",
    "Professor Plum", "Miss Peach", "Sgt. Gray", "Monsieur Brunette", "Madame Rose",
)
WEAPONS: tuple[str, ...] = (
    "Candlestick", "Knife", "Lead Pipe", "Revolver", "Rope", "Wrench", "Horseshoe", "Poison",
)
ROOMS: tuple[str, ...] = (
    "Hall", "Lounge", "Dining Room", "Kitchen", "Ballroom", "Conservatory", "Billiard Room", "Library",
    "Study", "Carriage House", "Cloak Room", "Trophy Room", "Drawing Room", "Gazebo", "Courtyard",
    "Fountain", "Studio",
)
MOTIVES: tuple[str, ...] = (
    "Revenge", "Jealousy", "Greed", "Power", "Hatred", "Anger", "Fear", "Ambition", "Betrayal", "Pride",
)
VICTIM = "Mr. Boddy"
# Rooms that read "at the X" rather than "in the X".
AT_ROOMS: tuple[str, ...] = ("Fountain",)

DIRECTIONS: tuple[str, ...] = ("north", "south", "east", "west")


def room_phrase(room: str) -> str:
    """'in the Kitchen' / 'at the Fountain'."""
    return f"{'at' if room in AT_ROOMS else 'in'} the {room}"


def format_time(minutes: int) -> str:
    """Minutes after midnight (may be negative or >= 1440) -> '11:45 PM' (12-hour clock, zero-padded)."""
    minutes %= 24 * 60
    hour, minute = divmod(minutes, 60)
    suffix = "AM" if hour < 12 else "PM"
    hour12 = hour % 12 or 12
    return f"{hour12:02d}:{minute:02d} {suffix}"


@dataclass(frozen=True)
class Setting:
    """What a puzzle is played on: the lists shown to the player and the board.

    rooms are in board order: room i (0-based) is drawn as number i+1, filling rows of `columns` cells
    row-major from the north-west corner. times are display strings in chronological order.
    motive_counts is None when every suspect has a distinct motive (then len(motives) == len(suspects));
    otherwise motive_counts[j] suspects share motives[j] and the counts sum to len(suspects).
    """

    suspects: tuple[str, ...]
    weapons: tuple[str, ...]
    rooms: tuple[str, ...]
    columns: int
    times: tuple[str, ...]
    motives: tuple[str, ...]
    motive_counts: tuple[int, ...] | None = None

    @property
    def rows(self) -> int:
        return -(-len(self.rooms) // self.columns)

    @property
    def unique_motives(self) -> bool:
        return self.motive_counts is None

    def motive_holders(self, motive: str) -> int:
        """How many suspects have `motive` (1 for every listed motive when motives are unique)."""
        if motive not in self.motives:
            raise ValueError(f"unknown motive {motive!r}; expected one of {list(self.motives)}")
        return 1 if self.motive_counts is None else self.motive_counts[self.motives.index(motive)]

    def cell(self, room: int) -> tuple[int, int]:
        """(row, col) of a room index; row 0 is the northern edge."""
        return divmod(room, self.columns)

    def neighbour(self, room: int, direction: str) -> int | None:
        """The room just `direction` of `room`, or None at an edge or an empty cell."""
        row, col = self.cell(room)
        d_row, d_col = {"north": (-1, 0), "south": (1, 0), "east": (0, 1), "west": (0, -1)}[direction]
        row, col = row + d_row, col + d_col
        if not (0 <= row < self.rows and 0 <= col < self.columns):
            return None
        other = row * self.columns + col
        return other if other < len(self.rooms) else None

    def neighbours(self, room: int) -> tuple[int, ...]:
        """Orthogonally adjacent rooms, in the order north, south, east, west."""
        return tuple(n for d in DIRECTIONS if (n := self.neighbour(room, d)) is not None)

    def to_dict(self) -> dict:
        return {
            "suspects": list(self.suspects), "weapons": list(self.weapons), "rooms": list(self.rooms),
            "columns": self.columns, "times": list(self.times), "motives": list(self.motives),
            "motive_counts": None if self.motive_counts is None else list(self.motive_counts),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Setting":
        counts = d.get("motive_counts")
        return cls(
            suspects=tuple(d["suspects"]), weapons=tuple(d["weapons"]), rooms=tuple(d["rooms"]),
            columns=int(d["columns"]), times=tuple(d["times"]), motives=tuple(d["motives"]),
            motive_counts=None if counts is None else tuple(int(c) for c in counts),
        )


@dataclass(frozen=True)
class World:
    """One complete account of the night.

    locations maps every piece (each suspect, each weapon, and VICTIM) to its room index at each time
    index. motives maps each suspect to its motive. The murder: `murderer` killed VICTIM with `weapon` in
    room index `room` at time index `time`.
    """

    setting: Setting
    locations: dict[str, tuple[int, ...]]
    motives: dict[str, str]
    murderer: str
    weapon: str
    room: int
    time: int
    meta: dict = field(default_factory=dict, compare=False)

    def where(self, piece: str, t: int) -> int:
        return self.locations[piece][t]

    def to_dict(self) -> dict:
        return {
            "setting": self.setting.to_dict(),
            "locations": {k: list(v) for k, v in self.locations.items()},
            "motives": dict(self.motives),
            "murderer": self.murderer, "weapon": self.weapon, "room": self.room, "time": self.time,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "World":
        return cls(
            setting=Setting.from_dict(d["setting"]),
            locations={k: tuple(v) for k, v in d["locations"].items()},
            motives=dict(d["motives"]), murderer=d["murderer"], weapon=d["weapon"],
            room=int(d["room"]), time=int(d["time"]),
        )
