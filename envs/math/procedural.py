"""Procedural math problems with exact answers, in ten difficulty levels (plus a warm-up level 0).

Item ``i`` of the sequence with seed ``s`` is generated from its own ``random.Random(item_seed("math", s, i))``
(envs/seeding.py: sha256-derived, so it is the same in every process and under any PYTHONHASHSEED),
which makes every item addressable without generating the ones before it. Every answer is computed
exactly with integers and ``fractions.Fraction``; numbers are chosen so that quantities that must be
whole (people, items, days) are whole.

Levels (``LEVELS``):
  0  single-digit arithmetic (a warm-up level, only when asked for: the default set is 1..10)
  1  one-step arithmetic (add, subtract, multiply, exact division)
  2  multi-step arithmetic with order of operations, brackets and negatives
  3  one- and two-step word problems (shopping, sharing, saving)
  4  fractions and decimals (sums, products, a fraction of a quantity)
  5  percentages (percent of, discounts and tax, change in percent)
  6  multi-step word problems (rates with unit changes, ages, orders with several items)
  7  linear equations (solve for x, "think of a number", consecutive integers)
  8  systems of two linear equations (tickets, coins, legs)
  9  number theory and counting (lcm/gcd, inclusion-exclusion, remainders of powers, divisors, series)
  10 several ideas at once (probability, Vieta, Pythagoras with area, mixtures)

Returned schema: ``MathProblem`` (id, question, answer, level, topic, solution, seed, index).
``answer`` is the exact value as text: an integer ("42") or a reduced fraction ("-7/4").
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import Callable, Iterable, Sequence

from rlvr_gym.envs.seeding import item_seed

__all__ = [
    "MathProblem",
    "LEVELS",
    "LEVEL_NAMES",
    "generate_problem",
    "generate_problems",
    "format_answer",
    "latex_answer",
    "resolve_levels",
    "question_split",
    "SPLITS",
]


@dataclass(frozen=True)
class MathProblem:
    """One generated problem.

    id: "proc-s{seed}-i{index}"; question: the problem text (ASCII, no answer-format instruction);
    answer: exact value as text ("42", "-7/4"); level: 0..10 (0 = warm-up); topic: the template name;
    solution: a short worked solution ending in \\boxed{answer}; seed/index: where it came from.
    """

    id: str
    question: str
    answer: str
    level: int
    topic: str
    solution: str
    seed: int
    index: int

    @property
    def difficulty(self) -> str:
        return f"level-{self.level}"

    @property
    def value(self) -> Fraction:
        return Fraction(self.answer)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["difficulty"] = self.difficulty
        return d


def format_answer(value: Fraction | int) -> str:
    """Exact answer text: "42" or "-7/4"."""
    value = Fraction(value)
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def latex_answer(value: Fraction | int) -> str:
    value = Fraction(value)
    if value.denominator == 1:
        return str(value.numerator)
    sign = "-" if value < 0 else ""
    return f"{sign}\\frac{{{abs(value.numerator)}}}{{{value.denominator}}}"


def _fmt(x: Fraction | int) -> str:
    """A number inside problem text: integers plainly, terminating decimals as decimals, else a/b."""
    x = Fraction(x)
    if x.denominator == 1:
        return str(x.numerator)
    d = x.denominator
    while d % 2 == 0:
        d //= 2
    while d % 5 == 0:
        d //= 5
    if d == 1:
        text = f"{float(x):.10f}".rstrip("0").rstrip(".")
        if Fraction(text) == x:
            return text
    return f"{x.numerator}/{x.denominator}"


def _coef(k: int, var: str) -> str:
    """A coefficient in front of a variable: 1x -> x, -1x -> -x."""
    return var if k == 1 else f"-{var}" if k == -1 else f"{k}{var}"


def _money(x: Fraction | int) -> str:
    x = Fraction(x)
    return f"${x.numerator}" if x.denominator == 1 else f"${float(x):.2f}"


# ----------------------------------------------------------------------------------------------------
# Word pools (our own; plain ASCII)
# ----------------------------------------------------------------------------------------------------

NAMES = (
    "Amara", "Bilal", "Chen", "Dalia", "Emeka", "Farah", "Gustavo", "Hana", "Ivan", "Jun", "Kavya", "Lars",
    "Mei", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sione", "Tariq", "Uma", "Viktor", "Wanjiru", "Ximena",
    "Yusuf", "Zofia", "Aiko", "Bruno", "Carmen", "Dev", "Elif", "Femi", "Greta", "Hugo", "Ines", "Jonas",
)
GOODS = (  # (singular, plural, price range in dollars)
    ("notebook", "notebooks", (2, 9)), ("pencil case", "pencil cases", (3, 12)), ("mango", "mangoes", (1, 4)),
    ("loaf of bread", "loaves of bread", (2, 6)), ("paint brush", "paint brushes", (3, 15)),
    ("concert ticket", "concert tickets", (20, 80)), ("potted fern", "potted ferns", (6, 25)),
    ("bag of rice", "bags of rice", (8, 30)), ("skein of yarn", "skeins of yarn", (4, 11)),
    ("board game", "board games", (15, 60)), ("jar of honey", "jars of honey", (5, 14)),
)
THINGS = (  # countable objects for collecting/sharing
    ("seashell", "seashells"), ("stamp", "stamps"), ("marble", "marbles"), ("sticker", "stickers"),
    ("trading card", "trading cards"), ("acorn", "acorns"), ("button", "buttons"), ("bead", "beads"),
)
CONTAINERS = ("box", "jar", "crate", "basket", "tin", "bag")
VEHICLES = ("a cyclist", "a train", "a ferry", "a delivery van", "a runner", "a drone")


def _name(rng: random.Random, k: int = 1) -> list[str]:
    return rng.sample(NAMES, k)


# ----------------------------------------------------------------------------------------------------
# Templates: each returns (question, answer, solution-steps)
# ----------------------------------------------------------------------------------------------------

Template = Callable[[random.Random], "tuple[str, Fraction, str]"]


def _t_single_digit(rng):
    a, b = rng.randint(1, 9), rng.randint(1, 9)
    op = rng.choice("+-*")
    if op == "-" and a < b:
        a, b = b, a
    value = a + b if op == "+" else a - b if op == "-" else a * b
    return f"What is {a} {op} {b}?", Fraction(value), f"{a} {op} {b} = {value}."


def _t_add_sub(rng):
    a, b = rng.randint(10, 999), rng.randint(10, 999)
    if rng.random() < 0.5:
        return f"What is {a} + {b}?", Fraction(a + b), f"{a} + {b} = {a + b}."
    a, b = max(a, b), min(a, b)
    if rng.random() < 0.3:
        a, b = b, a
    return f"Compute {a} - {b}.", Fraction(a - b), f"{a} - {b} = {a - b}."


def _t_mul_div(rng):
    a, b = rng.randint(2, 25), rng.randint(2, 19)
    if rng.random() < 0.5:
        return f"Calculate {a} * {b}.", Fraction(a * b), f"{a} * {b} = {a * b}."
    return f"What is {a * b} divided by {b}?", Fraction(a), f"{a * b} / {b} = {a}."


def _t_order_ops(rng):
    a, b, c, d = (rng.randint(2, 15) for _ in range(4))
    forms = [
        (f"{a} + {b} * {c}", a + b * c),
        (f"({a} + {b}) * {c}", (a + b) * c),
        (f"{a} * {b} - {c} * {d}", a * b - c * d),
        (f"{a} - {b} * ({c} - {d})", a - b * (c - d)),
        (f"({a} - {b}) * ({c} + {d})", (a - b) * (c + d)),
        (f"{a * c} / {c} + {b} * {d}", a + b * d),
        (f"-{a} + {b} * (-{c})", -a - b * c),
    ]
    expr, value = rng.choice(forms)
    return f"Evaluate {expr}.", Fraction(value), f"Multiplication and brackets first: {expr} = {value}."


def _t_powers(rng):
    a, e, b, c = rng.randint(2, 6), rng.randint(2, 3), rng.randint(2, 9), rng.randint(2, 20)
    value = a ** e - b * c
    return (f"Evaluate {a}^{e} - {b} * {c}.", Fraction(value),
            f"{a}^{e} = {a ** e}; {b} * {c} = {b * c}; {a ** e} - {b * c} = {value}.")


def _t_shopping_change(rng):
    (name,) = _name(rng)
    sing, plur, (lo, hi) = rng.choice(GOODS)
    n, price = rng.randint(2, 9), rng.randint(lo, hi)
    paid = (n * price // 10 + 1 + rng.randint(0, 3)) * 10
    change = paid - n * price
    q = (f"{name} buys {n} {plur} that cost {_money(price)} each and pays with {_money(paid)}. "
         f"How many dollars of change does {name} get back?")
    return q, Fraction(change), f"Cost {n} * {price} = {n * price}; change {paid} - {n * price} = {change}."


def _t_sharing(rng):
    a, b = _name(rng, 2)
    sing, plur = rng.choice(THINGS)
    per, friends, extra = rng.randint(3, 15), rng.randint(2, 8), rng.randint(0, 30)
    total = per * friends + extra
    q = (f"{a} collected {total} {plur}, gave {extra} of them to {b}, and shared the rest equally among "
         f"{friends} friends. How many {plur} did each friend get?")
    return q, Fraction(per), f"({total} - {extra}) / {friends} = {per}."


def _t_saving(rng):
    (name,) = _name(rng)
    weekly, start, weeks = rng.randint(5, 40), rng.randint(0, 100), rng.randint(3, 20)
    goal = start + weekly * weeks
    q = (f"{name} has {_money(start)} saved and puts away {_money(weekly)} every week. After how many weeks "
         f"will {name} have exactly {_money(goal)}?")
    return q, Fraction(weeks), f"({goal} - {start}) / {weekly} = {weeks}."


def _t_frac_arith(rng):
    a, b = rng.randint(1, 9), rng.randint(2, 12)
    c, d = rng.randint(1, 9), rng.randint(2, 12)
    x, y = Fraction(a, b), Fraction(c, d)
    op = rng.choice(["+", "-", "*", "/"])
    value = {"+": x + y, "-": x - y, "*": x * y, "/": x / y}[op]
    word = {"+": "plus", "-": "minus", "*": "times", "/": "divided by"}[op]
    q = f"What is {a}/{b} {word} {c}/{d}? Give the answer as a fraction in lowest terms."
    return q, value, f"{a}/{b} {op} {c}/{d} = {format_answer(value)}."


def _t_fraction_of(rng):
    (name,) = _name(rng)
    d = rng.choice([3, 4, 5, 6, 8])
    n = rng.randint(1, d - 1)
    total = d * rng.randint(3, 30)
    sing, plur = rng.choice(THINGS)
    part = total * n // d
    q = (f"{name} has {total} {plur} and gives away {n}/{d} of them. How many {plur} does {name} have left?")
    return q, Fraction(total - part), f"{n}/{d} of {total} is {part}; {total} - {part} = {total - part}."


def _t_decimal(rng):
    a = Fraction(rng.randint(11, 999), rng.choice([10, 100]))
    b = Fraction(rng.randint(11, 999), rng.choice([10, 100]))
    k = rng.randint(2, 9)
    value = a * k + b
    return (f"Compute {_fmt(a)} * {k} + {_fmt(b)}.", value,
            f"{_fmt(a)} * {k} = {_fmt(a * k)}; plus {_fmt(b)} gives {_fmt(value)}.")


def _t_percent_of(rng):
    p = rng.choice([5, 10, 12, 15, 20, 25, 30, 35, 40, 45, 60, 75, 80, 120, 150])
    base = rng.randint(2, 80) * 20
    value = Fraction(p * base, 100)
    return f"What is {p}% of {base}?", value, f"{p}/100 * {base} = {_fmt(value)}."


def _t_discount_tax(rng):
    (name,) = _name(rng)
    sing, plur, (lo, hi) = rng.choice([g for g in GOODS if g[2][0] >= 5])
    price = rng.randint(lo, hi) * 2 + 10
    off, tax = rng.choice([10, 15, 20, 25, 30, 40]), rng.choice([5, 8, 10])
    sale = Fraction(price * (100 - off), 100)
    value = sale * Fraction(100 + tax, 100)
    article = "An" if sing[0] in "aeiou" else "A"
    q = (f"{article} {sing} is priced at {_money(price)}. {name} gets {off}% off, and then a sales tax of {tax}% is added "
         f"to the reduced price. How much does {name} pay, in dollars?")
    return q, value, f"After the discount {_fmt(sale)}; with tax {_fmt(sale)} * {Fraction(100 + tax, 100)} = {_fmt(value)}."


def _t_percent_change(rng):
    old = rng.randint(4, 60) * 5
    p = rng.choice([-40, -25, -20, -10, 10, 20, 25, 30, 50, 60])
    new = Fraction(old * (100 + p), 100)
    if new.denominator != 1:
        new = Fraction(old * (100 + 20), 100)
        p = 20
    what = rng.choice(["a town's bus riders per day", "a bakery's loaves sold per week", "a club's members"])
    q = (f"The number of {what} went from {old} to {new.numerator}. By what percent did it change? "
         f"(Answer with a signed number of percent, e.g. -15 for a 15% drop.)")
    return q, Fraction(p), f"({new.numerator} - {old}) / {old} * 100 = {p}."


def _t_what_percent(rng):
    whole = rng.choice([20, 25, 40, 50, 80, 200, 250, 400])
    part = rng.randint(1, whole - 1)
    value = Fraction(part * 100, whole)
    (name,) = _name(rng)
    q = f"{name} answered {part} of {whole} quiz questions correctly. What percent of the questions is that?"
    return q, value, f"{part} / {whole} * 100 = {_fmt(value)}."


def _t_rate_units(rng):
    vehicle = rng.choice(VEHICLES)
    speed = rng.choice([12, 15, 18, 20, 24, 30, 36, 45, 48, 60, 72, 90])
    minutes = rng.choice([10, 15, 20, 25, 30, 40, 45, 50, 75, 90, 100])
    dist = Fraction(speed * minutes, 60)
    stop = rng.randint(5, 25)
    speed2 = rng.choice([s for s in (12, 15, 20, 24, 30, 40, 60) if s != speed])
    minutes2 = rng.choice([15, 30, 45, 60])
    dist2 = Fraction(speed2 * minutes2, 60)
    total = dist + dist2
    q = (f"{vehicle[0].upper() + vehicle[1:]} travels at {speed} km per hour for {minutes} minutes, stops for {stop} "
         f"minutes, then travels at {speed2} km per hour for {minutes2} minutes. How many kilometres does it travel "
         f"in total?")
    return q, total, f"{speed} * {minutes}/60 = {_fmt(dist)}; {speed2} * {minutes2}/60 = {_fmt(dist2)}; total {_fmt(total)}."


def _t_ages(rng):
    a, b = _name(rng, 2)
    child = rng.randint(4, 15)
    k = rng.randint(2, 4)
    years = rng.randint(2, 10)
    parent = k * child
    q = (f"{a} is {k} times as old as {b}. In {years} years, the sum of their ages will be "
         f"{parent + child + 2 * years}. How old is {a} now?")
    return q, Fraction(parent), (f"Let {b} be x now: {k}x + x + {2 * years} = {parent + child + 2 * years}, "
                                 f"so x = {child} and {a} is {parent}.")


def _t_order_items(rng):
    (name,) = _name(rng)
    goods = rng.sample(GOODS, 3)
    counts = [rng.randint(1, 6) for _ in goods]
    prices = [rng.randint(lo, hi) for _, _, (lo, hi) in goods]
    coupon = rng.choice([5, 10, 15])
    sub = sum(c * p for c, p in zip(counts, prices))
    shipping = rng.choice([0, 4, 7])
    total = sub - coupon + shipping
    parts = ", ".join(f"{c} {g[1] if c > 1 else g[0]} at {_money(p)} each" for c, g, p in zip(counts, goods, prices))
    q = (f"{name} orders {parts}. A coupon takes {_money(coupon)} off the order and shipping costs "
         f"{_money(shipping)}. What is the total cost in dollars?")
    return q, Fraction(total), f"Items {sub}; minus {coupon}; plus {shipping}: {total}."


def _t_work_rate(rng):
    a, b = _name(rng, 2)
    ta, tb = rng.sample([2, 3, 4, 5, 6, 8, 10, 12], 2)
    value = Fraction(ta * tb, ta + tb)
    q = (f"{a} can paint a fence alone in {ta} hours and {b} can paint it alone in {tb} hours. Working together "
         f"at these rates, how many hours do they need?")
    return q, value, f"1/{ta} + 1/{tb} = {Fraction(1, ta) + Fraction(1, tb)} per hour; time {format_answer(value)}."


def _t_linear_solve(rng):
    x = Fraction(rng.randint(-12, 12), rng.choice([1, 1, 1, 2, 3]))
    a, c = rng.sample([v for v in range(-9, 10) if v != 0], 2)
    b = rng.randint(-20, 20)
    d = a * x + b - c * x
    if d.denominator != 1:
        x = Fraction(rng.randint(-12, 12))
        d = a * x + b - c * x

    def lin(k, const):
        const = Fraction(const)
        if const == 0:
            return _coef(k, "x")
        sign = "+" if const > 0 else "-"
        return f"{_coef(k, 'x')} {sign} {_fmt(abs(const))}"

    q = f"Solve for x: {lin(a, b)} = {lin(c, d)}."
    return q, x, f"({a} - {c})x = {_fmt(d)} - {b}, so x = {format_answer(x)}."


def _t_think_number(rng):
    (name,) = _name(rng)
    n = rng.randint(2, 40)
    k, add, div = rng.randint(2, 7), rng.randint(1, 30), rng.choice([1, 2, 3])
    result = Fraction(k * n + add, div)
    if result.denominator != 1:
        div = 1
        result = Fraction(k * n + add)
    tail = f", divides by {div}," if div > 1 else ""
    q = (f"{name} thinks of a number, multiplies it by {k}, adds {add}{tail} and gets {result.numerator}. "
         f"What number did {name} think of?")
    return q, Fraction(n), f"{k}n + {add} = {result.numerator * div}, so n = {n}."


def _t_consecutive(rng):
    count = rng.choice([3, 4, 5])
    start = rng.randint(-10, 60)
    step = rng.choice([1, 2])
    kind = "consecutive integers" if step == 1 else rng.choice(["consecutive even integers", "consecutive odd integers"])
    if step == 2:
        start = start * 2 + (0 if "even" in kind else 1)
    nums = [start + step * i for i in range(count)]
    which = rng.choice(["smallest", "largest"])
    value = nums[0] if which == "smallest" else nums[-1]
    q = f"The sum of {count} {kind} is {sum(nums)}. What is the {which} of them?"
    return q, Fraction(value), f"The numbers are {', '.join(map(str, nums))}."


def _t_system(rng):
    x, y = rng.randint(-9, 12), rng.randint(-9, 12)
    while True:
        a, b, c, d = (rng.choice([v for v in range(-6, 7) if v != 0]) for _ in range(4))
        if a * d - b * c != 0:
            break
    e, f = a * x + b * y, c * x + d * y
    ask = rng.choice(["x", "y", "x + y", "x - y", "xy"])
    value = {"x": x, "y": y, "x + y": x + y, "x - y": x - y, "xy": x * y}[ask]

    def side(p, q_):
        return f"{_coef(p, 'x')} {'+' if q_ > 0 else '-'} {_coef(abs(q_), 'y')}"

    q = f"If {side(a, b)} = {e} and {side(c, d)} = {f}, what is {ask}?"
    return q, Fraction(value), f"Elimination gives x = {x}, y = {y}; {ask} = {value}."


def _t_tickets(rng):
    adult, child = rng.randint(8, 25), rng.randint(3, 12)
    if adult == child:
        adult += 3
    na, nc = rng.randint(10, 120), rng.randint(10, 120)
    event = rng.choice(["a school play", "a planetarium show", "a chess exhibition", "a puppet theatre"])
    ask = rng.choice(["adult", "child"])
    q = (f"Tickets for {event} cost {_money(adult)} for adults and {_money(child)} for children. {na + nc} tickets "
         f"were sold for a total of {_money(adult * na + child * nc)}. How many {ask} tickets were sold?")
    return q, Fraction(na if ask == "adult" else nc), f"a + c = {na + nc}, {adult}a + {child}c = {adult * na + child * nc}: a = {na}, c = {nc}."


def _t_legs(rng):
    pairs = [("chickens", 2, "goats", 4), ("ducks", 2, "sheep", 4), ("bicycles", 2, "tricycles", 3),
             ("stools", 3, "chairs", 4), ("spiders", 8, "beetles", 6)]
    A, la, B, lb = rng.choice(pairs)
    na, nb = rng.randint(3, 40), rng.randint(3, 40)
    unit = "wheels" if "cycles" in A else "legs"
    q = (f"A yard holds only {A} and {B}: {na + nb} of them in all, with {la * na + lb * nb} {unit} altogether. "
         f"How many {B} are there?")
    return q, Fraction(nb), f"{la}({na + nb} - b) + {lb}b = {la * na + lb * nb}, so b = {nb}."


def _t_coins(rng):
    (name,) = _name(rng)
    n5, n25 = rng.randint(3, 40), rng.randint(3, 40)
    value = 5 * n5 + 25 * n25
    q = (f"{name} has {n5 + n25} coins, all nickels (5 cents) and quarters (25 cents), worth {value} cents in total. "
         f"How many quarters does {name} have?")
    return q, Fraction(n25), f"n + q = {n5 + n25}, 5n + 25q = {value}: q = {n25}."


def _t_lcm(rng):
    a, b = rng.sample([6, 8, 9, 10, 12, 14, 15, 18, 20, 24, 25, 30], 2)
    start = rng.randint(6, 9)
    lcm = a * b // math.gcd(a, b)
    q = (f"Two buses leave the same stop together at {start}:00 in the morning. One returns every {a} minutes and "
         f"the other every {b} minutes. After how many minutes will they next be at the stop together?")
    return q, Fraction(lcm), f"lcm({a}, {b}) = {lcm}."


def _t_inclusion_exclusion(rng):
    a, b = rng.sample([2, 3, 4, 5, 6, 7, 9, 11], 2)
    n = rng.randint(50, 1000)
    lcm = a * b // math.gcd(a, b)
    value = n // a + n // b - n // lcm
    mode = rng.choice(["either", "neither"])
    if mode == "neither":
        value = n - value
        q = f"How many integers from 1 to {n} are divisible by neither {a} nor {b}?"
    else:
        q = f"How many integers from 1 to {n} are divisible by {a} or by {b} (or both)?"
    return q, Fraction(value), f"{n // a} + {n // b} - {n // lcm} multiples of {a} or {b}."


def _t_power_mod(rng):
    base, exp, mod = rng.randint(2, 13), rng.randint(20, 500), rng.choice([5, 7, 9, 10, 11, 13])
    value = pow(base, exp, mod)
    q = f"What is the remainder when {base}^{exp} is divided by {mod}?"
    return q, Fraction(value), f"The powers of {base} repeat modulo {mod}; the remainder is {value}."


def _t_divisors(rng):
    primes = rng.sample([2, 3, 5, 7, 11], rng.randint(2, 3))
    exps = [rng.randint(1, 4) for _ in primes]
    n = math.prod(p ** e for p, e in zip(primes, exps))
    if rng.random() < 0.5:
        value = math.prod(e + 1 for e in exps)
        return f"How many positive divisors does {n} have?", Fraction(value), f"Exponents {exps}: product of (e+1) = {value}."
    value = math.prod((p ** (e + 1) - 1) // (p - 1) for p, e in zip(primes, exps))
    return f"What is the sum of all positive divisors of {n}?", Fraction(value), f"sigma({n}) = {value}."


def _t_series(rng):
    first, diff, count = rng.randint(-20, 30), rng.randint(2, 9), rng.randint(10, 80)
    last = first + diff * (count - 1)
    value = count * (first + last) // 2
    q = f"Find the sum {first} + {first + diff} + {first + 2 * diff} + ... + {last} (each term {diff} more than the one before)."
    return q, Fraction(value), f"{count} terms, average {Fraction(first + last, 2)}: sum {value}."


def _t_dice_prob(rng):
    target = rng.randint(3, 11)
    ways = sum(1 for i in range(1, 7) for j in range(1, 7) if i + j == target)
    kind = rng.choice(["equal", "at least"])
    if kind == "at least":
        ways = sum(1 for i in range(1, 7) for j in range(1, 7) if i + j >= target)
        q = f"Two fair six-sided dice are rolled. What is the probability that the sum is at least {target}?"
    else:
        q = f"Two fair six-sided dice are rolled. What is the probability that the sum is exactly {target}?"
    value = Fraction(ways, 36)
    return q + " Give the answer as a fraction.", value, f"{ways} of 36 outcomes: {format_answer(value)}."


def _t_marbles(rng):
    r, b = rng.randint(2, 9), rng.randint(2, 9)
    color = rng.choice(["red", "blue"])
    num = r * (r - 1) if color == "red" else b * (b - 1)
    value = Fraction(num, (r + b) * (r + b - 1))
    q = (f"A bag holds {r} red and {b} blue marbles. Two marbles are drawn without replacement. What is the "
         f"probability that both are {color}?")
    return q, value, f"{num} / {(r + b) * (r + b - 1)} = {format_answer(value)}."


def _t_vieta(rng):
    r1, r2 = rng.randint(-9, 9), rng.randint(-9, 9)
    s, p = r1 + r2, r1 * r2
    ask = rng.choice(["the sum of the squares of its roots", "the sum of the reciprocals of its roots", "the product of its roots plus their sum"])
    if "reciprocals" in ask and p == 0:
        ask = "the sum of the squares of its roots"
    value = {"the sum of the squares of its roots": Fraction(s * s - 2 * p),
             "the sum of the reciprocals of its roots": Fraction(s, p) if p else Fraction(0),
             "the product of its roots plus their sum": Fraction(p + s)}[ask]
    bs = f"- {_coef(s, 'x')}" if s > 0 else (f"+ {_coef(-s, 'x')}" if s < 0 else "")
    cs = f"+ {p}" if p > 0 else (f"- {-p}" if p < 0 else "")
    eq = " ".join(t for t in ("x^2", bs, cs) if t) + " = 0"
    q = f"For the equation {eq}, find {ask}."
    return q, value, f"Roots {r1} and {r2} (sum {s}, product {p}); the value is {format_answer(value)}."


def _t_pythagoras(rng):
    a, b, c = rng.choice([(3, 4, 5), (5, 12, 13), (8, 15, 17), (7, 24, 25), (20, 21, 29), (9, 40, 41)])
    k = rng.randint(1, 4)
    a, b, c = a * k, b * k, c * k
    ask = rng.choice(["area", "perimeter"])
    value = Fraction(a * b, 2) if ask == "area" else Fraction(a + b + c)
    q = (f"A right triangle has a hypotenuse of {c} cm and one leg of {a} cm. What is its {ask}"
         f"{' in square cm' if ask == 'area' else ' in cm'}?")
    return q, value, f"The other leg is sqrt({c}^2 - {a}^2) = {b}; the {ask} is {format_answer(value)}."


def _t_mixture(rng):
    v1, v2 = rng.randint(2, 12) * 5, rng.randint(2, 12) * 5
    p1, p2 = rng.sample([10, 15, 20, 25, 30, 40, 50, 60], 2)
    value = Fraction(v1 * p1 + v2 * p2, v1 + v2)
    q = (f"{v1} litres of a {p1}% salt solution are mixed with {v2} litres of a {p2}% salt solution. What is the "
         f"salt concentration of the mixture, in percent?")
    return q, value, f"Salt {Fraction(v1 * p1 + v2 * p2, 100)} litres in {v1 + v2}: {format_answer(value)}%."


def _t_discount_chain(rng):
    (name,) = _name(rng)
    n = rng.randint(3, 12)
    price = rng.randint(4, 30)
    bulk = rng.choice([10, 20, 25])
    threshold = rng.randint(2, n)
    per = Fraction(price * (100 - bulk), 100) if n >= threshold else Fraction(price)
    tip = rng.choice([0, 5, 10])
    total = per * n + tip
    q = (f"A shop sells a {rng.choice(GOODS)[0]} for {_money(price)}; whoever buys at least {threshold} gets {bulk}% "
         f"off every one. {name} buys {n} and then spends {_money(tip)} on gift wrap. How many dollars does "
         f"{name} spend in total?")
    return q, total, f"Each costs {_fmt(per)}; {n} cost {_fmt(per * n)}; plus {tip} gives {_fmt(total)}."


LEVELS: dict[int, tuple[str, tuple[Template, ...]]] = {
    0: ("single-digit arithmetic", (_t_single_digit,)),
    1: ("one-step arithmetic", (_t_add_sub, _t_mul_div)),
    2: ("multi-step arithmetic", (_t_order_ops, _t_powers)),
    3: ("one- and two-step word problems", (_t_shopping_change, _t_sharing, _t_saving)),
    4: ("fractions and decimals", (_t_frac_arith, _t_fraction_of, _t_decimal)),
    5: ("percentages", (_t_percent_of, _t_discount_tax, _t_percent_change, _t_what_percent)),
    6: ("multi-step word problems", (_t_rate_units, _t_ages, _t_order_items, _t_work_rate)),
    7: ("linear equations", (_t_linear_solve, _t_think_number, _t_consecutive)),
    8: ("systems of linear equations", (_t_system, _t_tickets, _t_legs, _t_coins)),
    9: ("number theory and counting", (_t_lcm, _t_inclusion_exclusion, _t_power_mod, _t_divisors, _t_series)),
    10: ("several ideas", (_t_dice_prob, _t_marbles, _t_vieta, _t_pythagoras, _t_mixture, _t_discount_chain)),
}
LEVEL_NAMES: dict[int, str] = {k: v[0] for k, v in LEVELS.items()}
ALL_LEVELS: tuple[int, ...] = tuple(sorted(lv for lv in LEVELS if lv >= 1))   # the default set; 0 is opt-in


def resolve_levels(level: int | None = None, levels: Iterable[int] | None = None) -> tuple[int, ...]:
    """The sorted level tuple from `level=k` or `levels=[...]` (default: levels 1..10; the warm-up level 0
    only when named)."""
    if level is not None and levels is not None:
        raise ValueError("give either level= or levels=, not both")
    if level is not None:
        levels = [level]
    if levels is None:
        return ALL_LEVELS
    if isinstance(levels, (str, bytes)):
        raise TypeError(f"levels must be a list of integers 0..{max(LEVELS)}, got {levels!r}")
    out = []
    for lv in levels:
        if isinstance(lv, bool) or not isinstance(lv, int) or lv not in LEVELS:
            raise ValueError(f"levels must be integers 0..{max(LEVELS)}, got {lv!r}")
        if lv not in out:
            out.append(lv)
    if not out:
        raise ValueError("levels must not be empty")
    return tuple(sorted(out))


SPLITS = ("train", "test")
TEST_PERCENT = 20       # a question is in the test split when sha256(question) % 100 < TEST_PERCENT
_MAX_SPLIT_DRAWS = 1000


def question_split(question: str) -> str:
    """"test" for a fixed 20% of all question texts (by sha256 of the text), else "train". The same question
    is in the same split whatever seed, index or process drew it, so the two splits never share a question."""
    digest = int.from_bytes(hashlib.sha256(question.encode("utf-8")).digest()[:8], "big")
    return "test" if digest % 100 < TEST_PERCENT else "train"


def generate_problem(seed: int, index: int, levels: Sequence[int] | None = None,
                     split: str | None = None) -> MathProblem:
    """Item `index` of the sequence `seed`, its level drawn from `levels` (default all). Deterministic.

    split: None (any question), "train" or "test" (question_split): the item is redrawn from derived seeds
    until its question falls in the split, so train and test items never share a question text. This matters
    where a level has few distinct questions (level 0 has 207) and a held-out set would otherwise repeat
    training questions."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise ValueError(f"index must be a non-negative int, got {index!r}")
    if split is not None and split not in SPLITS:
        raise ValueError(f"split must be None, 'train' or 'test', got {split!r}")
    lv_tuple = resolve_levels(levels=levels)
    base = item_seed("math", seed, index)
    for draw in range(_MAX_SPLIT_DRAWS):
        rng = random.Random(base if draw == 0 else item_seed("math", base, draw))
        level = lv_tuple[rng.randrange(len(lv_tuple))]
        _, templates = LEVELS[level]
        template = templates[rng.randrange(len(templates))]
        question, value, steps = template(rng)
        if split is None or question_split(question) == split:
            break
    else:  # pragma: no cover - a 20% event missed 1000 times
        raise RuntimeError(f"no {split} question found for item {index} of seed {seed}")
    value = Fraction(value)
    solution = f"{steps}\nThe answer is $\\boxed{{{latex_answer(value)}}}$."
    return MathProblem(id=f"proc-s{seed}-i{index}", question=question, answer=format_answer(value), level=level,
                       topic=template.__name__[3:], solution=solution, seed=seed, index=index)


def generate_problems(n: int, seed: int = 0, levels: Sequence[int] | None = None, start: int = 0,
                      split: str | None = None) -> list[MathProblem]:
    """Items start .. start+n-1 of the sequence `seed` (of `split`, see generate_problem)."""
    return [generate_problem(seed, i, levels, split) for i in range(start, start + n)]
