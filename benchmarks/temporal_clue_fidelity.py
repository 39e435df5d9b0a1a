"""How close are our Temporal Clue puzzles to the original release? Sizes, clues, questions, prompt length and
clue-type shares, side by side.

    python benchmarks/temporal_clue_fidelity.py --n 100 --seed 0
    python benchmarks/temporal_clue_fidelity.py --n 100 --seed 0 --save-as before   # keep a snapshot to compare

Ours: items 0..n-1 of the seeded sequence of a config whose player count is drawn per puzzle like the
original's (players = randint(1, 6), then the original's size distribution; config.py). The original:
the release's puzzles in ../shared/data/temporal_clue, parsed into structured clues and questions
(envs/temporal_clue/original.py). Two reference columns are kept apart: train_candidates.json (984
puzzles of the same generator; what the removal biases were tuned against) and val.json + test.json (128
puzzles; acceptance data, checked against and never tuned to).

Implied questions are found with the CP-SAT model (questions.implied_questions): an asked question whose
answer the rules, the solution facts and the other asked answers force without any other clue.

Writes benchmarks/results/temporal_clue_fidelity.{json,md}; with --save-as NAME it also writes
temporal_clue_fidelity_NAME.json, and an earlier snapshot named by --compare (default "before") is shown as
an extra column when present.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import load_average, machine_info  # noqa: E402

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data" / "temporal_clue"
CLUE_TYPES = ("SolutionFact", "At", "HasMotive", "Either", "Iff", "SameRoom", "TogetherOnce", "Moved",
              "MovedWeapon", "Spatial")
SUSPECT_BUCKETS = ((2, 2), (3, 4), (5, 7), (8, 10))


def clue_type(clue) -> str:
    return type(clue).__name__


def question_kind(q) -> str:
    """main questions by field; bonus 'where' split by what it asks about."""
    if not q.bonus:
        return f"main:{q.kind}"
    if q.kind == "where":
        return f"where:{q.ref.kind}"
    return q.kind


def frame_chars(puzzle) -> int:
    """Prompt characters outside the clue sentences (story, lists, board, rules, questions, template)."""
    return len(puzzle.prompt) - sum(len(t) for t in puzzle.clue_texts)


def puzzle_row(puzzle, check_implied: bool = True) -> dict:
    from rlvr_gym.envs.temporal_clue.original import model_setting
    from rlvr_gym.envs.temporal_clue.questions import implied_questions

    s = puzzle.setting
    setting = model_setting(s)
    implied = implied_questions(setting, puzzle.questions, puzzle.clues) if check_implied else None
    return {
        "id": puzzle.id, "suspects": len(s.suspects), "weapons": len(s.weapons), "rooms": len(s.rooms),
        "times": len(s.times), "motives": len(s.motives), "unique_motives": s.motive_counts is None,
        "clues": len(puzzle.clues), "questions": len(puzzle.questions),
        "main_questions": sum(1 for q in puzzle.questions if not q.bonus),
        "prompt_chars": len(puzzle.prompt), "frame_chars": frame_chars(puzzle),
        "clue_chars": sum(len(t) for t in puzzle.clue_texts),
        "clue_types": dict(Counter(clue_type(c) for c in puzzle.clues)),
        "question_kinds": dict(Counter(question_kind(q) for q in puzzle.questions)),
        "implied": implied,
    }


def summarise(rows: list[dict]) -> dict:
    def stats(key):
        values = [r[key] for r in rows]
        return {"median": statistics.median(values), "mean": round(statistics.fmean(values), 3),
                "min": min(values), "max": max(values)}

    types = Counter()
    kinds = Counter()
    for r in rows:
        types.update(r["clue_types"])
        kinds.update(r["question_kinds"])
    n_clues, n_questions = sum(types.values()), sum(kinds.values())
    out = {key: stats(key) for key in ("suspects", "weapons", "rooms", "times", "motives", "clues", "questions",
                                        "main_questions", "prompt_chars", "frame_chars", "clue_chars")}
    out["n"] = len(rows)
    out["unique_motive_share"] = round(sum(r["unique_motives"] for r in rows) / len(rows), 3)
    out["one_time_share"] = round(sum(r["times"] == 1 for r in rows) / len(rows), 3)
    out["question_count_distribution"] = dict(sorted(Counter(r["questions"] for r in rows).items()))
    out["clue_type_shares"] = {t: round(types[t] / n_clues, 4) for t in CLUE_TYPES}
    out["question_kind_shares"] = {k: round(v / n_questions, 4) for k, v in sorted(kinds.items())}
    out["chars_per_clue"] = round(sum(r["clue_chars"] for r in rows) / max(1, sum(r["clues"] for r in rows)), 1)
    checked = [r for r in rows if r["implied"] is not None]
    if checked:
        implied = sum(len(r["implied"]) for r in checked)
        out["implied"] = {"puzzles_checked": len(checked), "questions": sum(r["questions"] for r in checked),
                          "implied_questions": implied,
                          "implied_share": round(implied / max(1, sum(r["questions"] for r in checked)), 4),
                          "puzzles_with_implied": sum(1 for r in checked if r["implied"])}
    buckets = {}
    for lo, hi in SUSPECT_BUCKETS:
        chosen = [r for r in rows if lo <= r["suspects"] <= hi]
        if chosen:
            buckets[f"{lo}-{hi}"] = {"n": len(chosen),
                                     "prompt_chars": statistics.median(r["prompt_chars"] for r in chosen),
                                     "clues": statistics.median(r["clues"] for r in chosen)}
    out["by_suspects"] = buckets
    return out


def ours(n: int, seed: int, config: dict) -> tuple[list[dict], dict]:
    from rlvr_gym.envs.temporal_clue.config import TemporalClueConfig
    from rlvr_gym.envs.temporal_clue.generator import generate_puzzle, puzzle_seed

    cfg = TemporalClueConfig.from_dict({"name": "original-mix", **config})
    rows, seconds = [], []
    for i in range(n):
        t0 = time.perf_counter()
        p = generate_puzzle(cfg, puzzle_seed(seed, i))
        seconds.append(time.perf_counter() - t0)
        rows.append(puzzle_row(p))
        rows[-1]["players"] = p.meta["sizes"]["players"]
        print(f"ours item={i} players={rows[-1]['players']} clues={rows[-1]['clues']} "
              f"questions={rows[-1]['questions']} implied={rows[-1]['implied']} {seconds[-1]:.2f}s", file=sys.stderr)
    return rows, {"config": cfg.to_dict(), "generation_s_median": statistics.median(seconds),
                  "generation_s_max": max(seconds)}


def original(names: list[str], limit: int | None) -> list[dict]:
    from rlvr_gym.envs.temporal_clue.original import parse_original_record

    rows = []
    for name in names:
        records = json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))
        for i, record in enumerate(records[:limit]):
            rows.append(puzzle_row(parse_original_record(record, f"original-{name}-{i}")))
        print(f"original {name}: {len(records[:limit])} puzzles", file=sys.stderr)
    return rows


def size_matched(ours_rows: list[dict], reference: list[dict], min_matches: int = 3) -> dict:
    """Our puzzles against original puzzles of exactly the same sizes (suspects, weapons, rooms, times):
    per matched puzzle, ours / the median of the matching originals, for prompt characters, characters
    outside the clues and clue count; the median of those ratios."""
    def key(r):
        return (r["suspects"], r["weapons"], r["rooms"], r["times"])

    by_size: dict = {}
    for r in reference:
        by_size.setdefault(key(r), []).append(r)
    ratios = {"prompt_chars": [], "frame_chars": [], "clues": []}
    for r in ours_rows:
        matches = by_size.get(key(r), [])
        if len(matches) < min_matches:
            continue
        for field in ratios:
            ratios[field].append(r[field] / max(1, statistics.median(m[field] for m in matches)))
    out = {"matched": len(ratios["clues"]), "of": len(ours_rows)}
    for field, values in ratios.items():
        out[field] = round(statistics.median(values), 3) if values else None
    return out


def _fmt(s: dict, key: str, digits: int = 0) -> str:
    v = s[key]
    return f"{v['median']:.{digits}f} / {v['mean']:.2f}" if isinstance(v, dict) else str(v)


def to_markdown(result: dict) -> str:
    cols = result["columns"]  # name -> summary
    names = list(cols)
    head = "| | " + " | ".join(names) + " |"
    rule = "| --- |" + " --- |" * len(names)
    m = result["machine"]
    lines = [
        "# Temporal Clue: our puzzles against the original release", "",
        f"Command: `{result['command']}`", "",
        f"Machine: {m['cpu']}, {m['cores']} cores visible, Python {m['python']}, OR-Tools {m['ortools']}, {m['date']}; "
        f"load average before/after: {result['load_before']} / {result['load_after']}; "
        f"{result['seconds']:.0f} s in all.", "",
        "Ours: items 0..n-1 of the seeded sequence with players drawn per puzzle like the original's "
        "(randint(1, 6)). Original: the release's train_candidates.json (the tuning reference) and "
        "val.json + test.json (acceptance data, never tuned to), parsed into structured puzzles.", "",
        "## Sizes, clues, questions, prompt length (median / mean)", "", head, rule,
    ]
    for key, label, digits in (("suspects", "suspects", 0), ("weapons", "weapons", 0), ("rooms", "rooms", 0),
                               ("times", "times", 0), ("motives", "motives", 0), ("clues", "clues", 0),
                               ("questions", "questions", 1), ("main_questions", "main questions", 0),
                               ("prompt_chars", "prompt characters", 0), ("frame_chars", "prompt outside the clues", 0)):
        lines.append(f"| {label} | " + " | ".join(_fmt(cols[c], key, digits) for c in names) + " |")
    lines.append("| puzzles | " + " | ".join(str(cols[c]["n"]) for c in names) + " |")
    lines.append("| unique motives | " + " | ".join(f"{cols[c]['unique_motive_share']:.0%}" for c in names) + " |")
    lines.append("| one time only | " + " | ".join(f"{cols[c]['one_time_share']:.0%}" for c in names) + " |")
    lines.append("| characters per clue | " + " | ".join(f"{cols[c]['chars_per_clue']:.0f}" for c in names) + " |")
    lines.append("| implied questions | " + " | ".join(
        f"{cols[c]['implied']['implied_questions']} of {cols[c]['implied']['questions']} "
        f"({cols[c]['implied']['implied_share']:.1%}; {cols[c]['implied']['puzzles_with_implied']} puzzles)"
        if "implied" in cols[c] else "-" for c in names) + " |")
    ref = result["reference"]
    lines += ["", f"Median prompt ratio ours / {ref}: "
              + ", ".join(f"{c} {cols[c]['prompt_chars']['median'] / cols[ref]['prompt_chars']['median']:.2f}"
                          for c in names if c != ref) + ".", ""]
    matched = result.get("size_matched", {})
    if matched:
        lines += [f"At the same sizes (each of our puzzles against the {ref} puzzles with exactly its suspects, "
                  "weapons, rooms and times, where at least 3 exist; median of the per-puzzle ratios):", "",
                  "| | matched puzzles | prompt characters | outside the clues | clues |", "| --- | --- | --- | --- | --- |"]
        for c, m in matched.items():
            lines.append(f"| {c} | {m['matched']} of {m['of']} | {m['prompt_chars']:.2f}x | {m['frame_chars']:.2f}x "
                         f"| {m['clues']:.2f}x |")
        lines.append("")
    lines += ["## Question count distribution (share of puzzles)", "",
              "| questions | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names)]
    counts = sorted({int(k) for c in names for k in cols[c]["question_count_distribution"]})
    for k in counts:
        cells = []
        for c in names:
            dist = {int(a): b for a, b in cols[c]["question_count_distribution"].items()}
            cells.append(f"{dist.get(k, 0) / cols[c]['n']:.0%}")
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    lines += ["", f"## Clue-type shares (ratio to {ref} in brackets; target 0.75-1.25)", "",
              "| clue type | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names)]
    for t in CLUE_TYPES:
        base = cols[ref]["clue_type_shares"][t]
        cells = []
        for c in names:
            v = cols[c]["clue_type_shares"][t]
            cells.append(f"{v:.1%}" + ("" if c == ref or not base else f" ({v / base:.2f}x)"))
        lines.append(f"| {t} | " + " | ".join(cells) + " |")
    lines += ["", "## Prompt characters by number of suspects (median; puzzles)", "",
              "| suspects | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names)]
    for lo, hi in SUSPECT_BUCKETS:
        key = f"{lo}-{hi}"
        cells = []
        for c in names:
            b = cols[c]["by_suspects"].get(key)
            cells.append("-" if not b else f"{b['prompt_chars']:.0f} ({b['n']})")
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    lines += ["", "## Question kinds (share of all questions)", "",
              "| kind | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names)]
    kinds = sorted({k for c in names for k in cols[c]["question_kind_shares"]})
    for k in kinds:
        lines.append(f"| {k} | " + " | ".join(f"{cols[c]['question_kind_shares'].get(k, 0):.1%}" for c in names) + " |")
    if result.get("note"):
        lines += ["", result["note"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="our puzzles (>= 60 for the issue's check)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--config", default="{}", help="JSON fields for TemporalClueConfig (players stays drawn)")
    parser.add_argument("--label", default="ours", help="column name of our puzzles")
    parser.add_argument("--original-limit", type=int, default=None, help="first N puzzles of each original file")
    parser.add_argument("--save-as", default=None, help="also write temporal_clue_fidelity_NAME.json")
    parser.add_argument("--compare", default="before", help="snapshot NAME shown as an extra column if present")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--note", default="")
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        parser.error(f"the original release is not at {DATA}")
    started, load_before = time.perf_counter(), load_average()
    our_rows, our_meta = ours(args.n, args.seed, json.loads(args.config))
    train_rows = original(["train_candidates"], args.original_limit)
    accept_rows = original(["val", "test"], args.original_limit)
    columns = {}
    snapshot = args.out / f"temporal_clue_fidelity_{args.compare}.json"
    if args.compare and snapshot.is_file() and args.compare != args.save_as:
        columns[f"ours ({args.compare})"] = json.loads(snapshot.read_text())["columns"][args.label]
    columns[args.label] = summarise(our_rows)
    matched = {args.label: size_matched(our_rows, train_rows)}
    if snapshot.is_file() and args.compare != args.save_as:
        before_rows = json.loads(snapshot.read_text())["rows"]["ours"]
        matched = {f"ours ({args.compare})": size_matched(before_rows, train_rows), **matched}
    columns["original train_candidates"] = summarise(train_rows)
    columns["original val+test"] = summarise(accept_rows)
    command = "python benchmarks/temporal_clue_fidelity.py " + " ".join(
        a for a in (argv if argv is not None else sys.argv[1:]))
    result = {"command": command, "machine": machine_info(["ortools"]), "load_before": load_before,
              "load_after": load_average(), "seconds": time.perf_counter() - started, "n": args.n,
              "seed": args.seed, "ours": our_meta, "reference": "original train_candidates",
              "columns": columns, "size_matched": matched, "note": args.note, "rows": {"ours": our_rows}}
    args.out.mkdir(parents=True, exist_ok=True)
    if args.save_as:
        (args.out / f"temporal_clue_fidelity_{args.save_as}.json").write_text(json.dumps(result, indent=1) + "\n")
    else:
        (args.out / "temporal_clue_fidelity.json").write_text(json.dumps(result, indent=1) + "\n")
        (args.out / "temporal_clue_fidelity.md").write_text(to_markdown(result))
    print(to_markdown(result))
    return result


if __name__ == "__main__":
    main()
