"""Our math verifier against the field's own verifier test suites, side by side with the peers' graders.

Cases: benchmarks/data/verifier_peers/cases.jsonl (built by benchmarks/verifier_peers_cases.py from the public test
suites of math-verify, hendrycks/math, NeMo-Skills, Qwen2.5-Math (as labelled by math-verify's port), verl, open-r1 and
reasoning-gym; each row keeps its source repository, commit, file and test name).

Graders, each run over every case in one process per grader:
- ours: ``rlvr_gym.verifiers.math.grade(prediction, gold)`` with default settings (the prediction is a whole reply or
  a bare answer; a number is passed as its Python str);
- math-verify alone: ``verify(parse(gold), parse(prediction))`` with its defaults (a side that parses to nothing is
  parsed again wrapped in ``$...$``, as math-verify's docs ask for LaTeX answers);
- peers found under --peers (default /work/peers; reported "not available" when absent, never needed by the package):
  hendrycks ``is_equiv``, Qwen2.5-Math ``math_equal`` (with its ``extract_answer``/``strip_string``), NeMo-Skills
  ``math_equal``. Those compare answers, so a reply (``kind`` "reply") first goes through the peer's own extractor
  (Qwen, NeMo) or the last ``\\boxed{}`` (hendrycks); a bare answer is passed as it is.
Peers run in a subprocess each, with a 10 s limit a case (an overrun counts as "not equal" and is listed).

The peers' code is never part of this repository. To run them, lay out --peers like this (files taken from the
projects' public repositories; the commits used for the committed results are in the results file):
    hendrycks_math/modeling/math_equivalence.py            hendrycks/math (MIT)
    qwen25_math/evaluation/{grader,parser,utils,examples}.py and qwen25_math/evaluation/latex2sympy/
                                                           QwenLM/Qwen2.5-Math (MIT)
    qwen_deps/   pip install --target DIR antlr4-python3-runtime==4.11.1 regex word2number  (its latex2sympy needs
                 ANTLR 4.11, math-verify's needs 4.13: kept apart)
    nemo_skills_src/nemo_skills/evaluation/math_grader.py  NVIDIA/NeMo-Skills (Apache-2.0; uses math-verify)

Agreement = the grader's verdict equals the suite's label. The headline leaves out the few rows whose label holds only
under a non-default semantic switch of the source grader (math-verify ``strict=False``, ``allow_set_relation_comp=True``:
each has a sibling row with the opposite label under the default); they are reported apart.

Results: benchmarks/results/verifier_peers.{md,json}.
Run: python benchmarks/verifier_peers.py [--peers DIR] [--only ours,math-verify]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_info, machine_line  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "benchmarks" / "data" / "verifier_peers" / "cases.jsonl"
RESULTS = ROOT / "benchmarks" / "results"
SEMANTIC_OPTIONS = ("strict", "allow_set_relation_comp")
CASE_LIMIT_S = 10

# ---------------------------------------------------------------------------------------------- peer runners
# Each runner is a small script run as a subprocess: one JSON case a line on stdin, one JSON verdict a line on stdout.
# It imports the peer's code from its folder under --peers; nothing of it is copied into this repository.

_RUNNER_HEAD = r"""
import json, signal, sys, time, logging
logging.disable(logging.WARNING)
class Overrun(Exception):
    pass
def _alarm(signum, frame):
    raise Overrun()
signal.signal(signal.SIGALRM, _alarm)
def text(v):
    return None if v is None else (v if isinstance(v, str) else str(v))
def last_boxed(s):
    i = max(s.rfind("\\boxed"), s.rfind("\\fbox"))
    if i < 0:
        return None
    j = s.find("{", i)
    if j < 0:
        return None
    depth = 0
    for k in range(j, len(s)):
        if s[k] == "{":
            depth += 1
        elif s[k] == "}":
            depth -= 1
            if depth == 0:
                return s[j + 1:k]
    return None
"""

_RUNNER_TAIL = r"""
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    case = json.loads(line)
    t = time.perf_counter()
    signal.alarm(%d)
    try:
        verdict, error = bool(judge(case)), None
    except Overrun:
        verdict, error = False, "overrun"
    except Exception as exc:
        verdict, error = False, ("%%s: %%s" %% (type(exc).__name__, exc))[:200]
    finally:
        signal.alarm(0)
    print(json.dumps({"verdict": verdict, "error": error, "seconds": time.perf_counter() - t}), flush=True)
""" % CASE_LIMIT_S

RUNNERS = {
    "math-verify": (None, r"""
from math_verify import parse, verify
def p(s):
    s = text(s)
    if s is None:
        return []
    out = parse(s)
    return out if out else parse("$" + s + "$")
def judge(case):
    return verify(p(case["gold"]), p(case["prediction"]))
"""),
    "hendrycks is_equiv": ("hendrycks_math/modeling/math_equivalence.py", r"""
sys.path.insert(0, PEER + "/hendrycks_math/modeling")
from math_equivalence import is_equiv
def answer(s, kind):
    s = text(s)
    if s is None or kind == "answer":
        return s
    b = last_boxed(s)
    return s if b is None else b
def judge(case):
    gold = text(case["gold"])
    g = last_boxed(gold) if gold and "boxed" in gold else gold
    return is_equiv(answer(case["prediction"], case["kind"]), g)
"""),
    "Qwen2.5-Math math_equal": ("qwen25_math/evaluation/grader.py", r"""
sys.path[:0] = [PEER + "/qwen_deps", PEER + "/qwen25_math/evaluation", PEER + "/qwen25_math/evaluation/latex2sympy"]
import os
os.chdir(PEER + "/qwen25_math/evaluation")
from parser import extract_answer, strip_string
from grader import math_equal
def judge(case):
    gold, pred = text(case["gold"]), text(case["prediction"])
    if gold is None or pred is None:
        return False
    gt = extract_answer(gold, "math") if "boxed" in gold else strip_string(gold)
    pa = extract_answer(pred, "math") if case["kind"] == "reply" else strip_string(pred)
    return math_equal(pa, gt, timeout=False)
"""),
    "NeMo-Skills math_equal": ("nemo_skills_src/nemo_skills/evaluation/math_grader.py", r"""
import types
sys.path.insert(0, PEER + "/nemo_skills_src")
utils = types.ModuleType("nemo_skills.utils")       # the grader needs only this helper of nemo_skills.utils
utils.get_logger_name = lambda f: "nemo_skills"
sys.modules["nemo_skills.utils"] = utils
from nemo_skills.evaluation.math_grader import extract_answer, math_equal
def judge(case):
    gold, pred = case["gold"], case["prediction"]
    if case["kind"] == "reply" and isinstance(pred, str):
        pred = extract_answer(pred, relaxed=True)
    return math_equal(gold, pred)
"""),
}


def run_peer(name: str, peers: Path, cases: list[dict]) -> dict:
    marker, body = RUNNERS[name]
    if marker is not None and not (peers / marker).is_file():
        return {"available": False, "why": f"not available ({peers / marker} absent)"}
    source = _RUNNER_HEAD + f"PEER = {str(peers)!r}\n" + body + _RUNNER_TAIL
    env = dict(os.environ, PYTHONHASHSEED="0", OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-c", source], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, bufsize=1)
    ready = proc.stdout.readline()
    if not ready.strip():
        err = proc.stderr.read()[-500:]
        proc.kill()
        return {"available": False, "why": f"not available (it did not start: {err.strip()})"}
    verdicts = []
    for case in cases:
        proc.stdin.write(json.dumps(case) + "\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        if not line:
            err = proc.stderr.read()[-300:]
            raise RuntimeError(f"{name} runner died at {case['id']}: {err}")
        verdicts.append(json.loads(line))
    proc.stdin.close()
    proc.wait(timeout=30)
    return {"available": True, "verdicts": verdicts}


def run_ours(cases: list[dict]) -> dict:
    from rlvr_gym.verifiers.math import _math_verify, grade

    _math_verify("1", "1", 60)                          # start the comparison worker outside the timed part
    verdicts = []
    for case in cases:
        gold, pred = case["gold"], case["prediction"]
        pred = pred if pred is None or isinstance(pred, str) else str(pred)
        t = time.perf_counter()
        try:
            g = grade(pred, gold)
            verdict, error, reason, extracted = g.correct, None, g.reason, g.extracted
        except Exception as exc:                       # a gold of None is refused (TypeError): "not equal"
            verdict, error, reason, extracted = False, f"{type(exc).__name__}: {exc}"[:200], "error", None
        verdicts.append({"verdict": verdict, "error": error, "seconds": time.perf_counter() - t, "reason": reason,
                         "extracted": extracted})
    return {"available": True, "verdicts": verdicts}


# ---------------------------------------------------------------------------------------------- report


def _pct(a: int, n: int) -> str:
    return f"{100 * a / n:.1f}% ({a}/{n})" if n else "-"


OWN_SUITE = "rlvr-gym-adversarial"


def own_cases() -> list[dict]:
    """Our own adversarial set (tests/data/math_adversarial.jsonl: hedges, thinking, tag spoofing), graded by every
    grader but reported apart: the peer suites hold almost no hedged replies."""
    from verifier_peers_cases import categorize

    path = ROOT / "tests" / "data" / "math_adversarial.jsonl"
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            c = json.loads(line)
            row = {"id": f"{OWN_SUITE}-{c['id']}", "suite": OWN_SUITE, "gold": c["gold"], "prediction": c["response"],
                   "expected": c["correct"], "kind": "reply", "options": {}, "note": c["note"]}
            row["category"] = "hedge" if "hedge" in c["id"] else categorize(row)
            rows.append(row)
    return rows


def _agree_where(cases: list[dict], agree: list[bool], rows: list[int], pred) -> dict:
    chosen = [i for i in rows if pred(cases[i])]
    return {"agree": sum(agree[i] for i in chosen), "n": len(chosen)}


def summarise(cases: list[dict], verdicts: list[dict]) -> dict:
    head = [i for i, c in enumerate(cases) if not any(k in c["options"] for k in SEMANTIC_OPTIONS)
            and c["suite"] != OWN_SUITE]
    own = [i for i, c in enumerate(cases) if c["suite"] == OWN_SUITE]
    agree = [verdicts[i]["verdict"] == cases[i]["expected"] for i in range(len(cases))]

    def group(key) -> dict:
        out: dict = defaultdict(lambda: [0, 0])
        for i in head:
            out[key(cases[i])][0] += agree[i]
            out[key(cases[i])][1] += 1
        return {k: {"agree": a, "n": n} for k, (a, n) in sorted(out.items())}

    seconds = sum(v["seconds"] for v in verdicts)
    return {
        "headline": {"agree": sum(agree[i] for i in head), "n": len(head)},
        "all_rows": {"agree": sum(agree[i] for i in range(len(cases)) if i not in set(own)),
                     "n": len(cases) - len(own)},
        "by_suite": group(lambda c: c["suite"]),
        "by_category": group(lambda c: c["category"]),
        "by_kind": group(lambda c: c["kind"]),
        "false_positives": [cases[i]["id"] for i in head if verdicts[i]["verdict"] and not cases[i]["expected"]],
        "free_text_replies": _agree_where(cases, agree, head, lambda c: c["category"] == "free_text"),
        "false_negatives": [cases[i]["id"] for i in head if not verdicts[i]["verdict"] and cases[i]["expected"]],
        "option_rows": [{"id": cases[i]["id"], "agree": agree[i]} for i in range(len(cases))
                        if i not in set(head) and cases[i]["suite"] != OWN_SUITE],
        "own": {"agree": sum(agree[i] for i in own), "n": len(own),
                "false_positives": [cases[i]["id"] for i in own if verdicts[i]["verdict"] and not cases[i]["expected"]],
                "hedge_false_positives": [cases[i]["id"] for i in own if verdicts[i]["verdict"] and not cases[i]["expected"]
                                          and cases[i]["category"] == "hedge"]},
        "errors": sum(1 for v in verdicts if v.get("error")),
        "overruns": [cases[i]["id"] for i, v in enumerate(verdicts) if v.get("error") == "overrun"],
        "seconds": round(seconds, 3),
        "per_second": round(len(cases) / seconds, 1) if seconds else None,
        "max_case_seconds": round(max(v["seconds"] for v in verdicts), 3),
        "slowest_case": cases[max(range(len(cases)), key=lambda i: verdicts[i]["seconds"])]["id"],
    }


def _short(value, n: int = 90) -> str:
    s = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    s = s.replace("\n", "\\n").replace("|", "\\|").replace("`", "'")
    return s if len(s) <= n else s[: n // 2 - 2] + " … " + s[-(n // 2 - 2):]


def write_report(cases: list[dict], results: dict, out: Path, info: dict) -> str:
    names = [n for n in results if results[n]["available"]]
    summaries = {n: results[n]["summary"] for n in names}
    by_id = {c["id"]: c for c in cases}
    lines = ["# Math verifiers on the field's own verifier test suites", "",
             f"Machine: {machine_line(info)}; {info['date']}. One process per grader, one case at a time.",
             f"Cases: {sum(c['suite'] != OWN_SUITE for c in cases)} labelled (gold, prediction, expected) rows from the public test suites "
             "(benchmarks/data/verifier_peers/cases.jsonl; sources and licences beside it). The headline leaves out "
             f"{len(summaries[names[0]]['option_rows'])} rows whose label holds only under a non-default "
             "semantic switch of math-verify (`strict=False`, `allow_set_relation_comp=True`), reported apart below.", ""]
    lines += ["## Agreement with the labels", "",
              "| grader | headline | all rows | free-text replies | gradings/s | slowest case (s) |",
              "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for n in names:
        s = summaries[n]
        ft = s["by_category"].get("free_text", {"agree": 0, "n": 0})
        lines.append(f"| {n} | {_pct(s['headline']['agree'], s['headline']['n'])} | "
                     f"{_pct(s['all_rows']['agree'], s['all_rows']['n'])} | {_pct(ft['agree'], ft['n'])} | "
                     f"{s['per_second']} | {s['max_case_seconds']} |")
    for n in results:
        if not results[n]["available"]:
            lines.append(f"| {n} | {results[n]['why']} | | | | |")
    for title, key in (("suite", "by_suite"), ("category", "by_category"), ("reply or bare answer", "by_kind")):
        keys = sorted({k for n in names for k in summaries[n][key]})
        lines += ["", f"### By {title}", "", "| " + title + " | " + " | ".join(names) + " |",
                  "| --- | " + " | ".join("---:" for _ in names) + " |"]
        for k in keys:
            lines.append(f"| {k} | " + " | ".join(_pct(summaries[n][key][k]["agree"], summaries[n][key][k]["n"])
                                                 if k in summaries[n][key] else "-" for n in names) + " |")
    lines += ["", "### False positives and false negatives (counts)", "", "| grader | false positives | false negatives |",
              "| --- | ---: | ---: |"]
    for n in names:
        lines.append(f"| {n} | {len(summaries[n]['false_positives'])} | {len(summaries[n]['false_negatives'])} |")
    fp_zero = ("hedge", "order", "program_syntax")
    lines += ["", "False positives of ours in the categories that must have none (" + ", ".join(fp_zero) + "): " +
              str(sum(1 for i in summaries["ours"]["false_positives"] if by_id[i]["category"] in fp_zero)) + "."]
    ours = results["ours"]["verdicts"]
    idx = {c["id"]: i for i, c in enumerate(cases)}
    for title, key in (("False positives of ours (graded right, labelled wrong)", "false_positives"),
                       ("False negatives of ours (graded wrong, labelled right)", "false_negatives")):
        lines += ["", f"## {title}", ""]
        if not summaries["ours"][key]:
            lines.append("None.")
            continue
        lines += ["| id | category | gold | prediction | extracted | reason | math-verify |", "| --- | --- | --- | --- | --- | --- | --- |"]
        for cid in summaries["ours"][key]:
            c, v = by_id[cid], ours[idx[cid]]
            mv = results.get("math-verify", {})
            mv_v = mv["verdicts"][idx[cid]]["verdict"] if mv.get("available") else "-"
            lines.append(f"| {cid} | {c['category']} | `{_short(c['gold'], 60)}` | `{_short(c['prediction'])}` | "
                         f"`{_short(v['extracted'], 40)}` | {_short(v['reason'], 50)} | {mv_v} |")
    lines += ["", f"## Our own adversarial set ({OWN_SUITE}, not a peer suite, not in the headline)", "",
              "tests/data/math_adversarial.jsonl: hedged replies, answers in thinking, tag spoofing, first-vs-last box. "
              "The peer suites hold almost no hedged replies, so hedge false positives are measured here.", "",
              "| grader | agreement | false positives | of which hedges |", "| --- | ---: | ---: | ---: |"]
    for n in names:
        o = summaries[n]["own"]
        lines.append(f"| {n} | {_pct(o['agree'], o['n'])} | {len(o['false_positives'])} | {len(o['hedge_false_positives'])} |")
    lines += ["", "## Rows under a non-default semantic switch (not in the headline)", "",
              "| id | options | expected | " + " | ".join(names) + " |", "| --- | --- | --- | " + " | ".join("---" for _ in names) + " |"]
    for row in summaries[names[0]]["option_rows"]:
        c = by_id[row["id"]]
        lines.append(f"| {c['id']} | `{json.dumps(c['options'])}` | {c['expected']} | " +
                     " | ".join(str(results[n]["verdicts"][idx[c['id']]]["verdict"]) for n in names) + " |")
    for n in names:
        if summaries[n]["overruns"]:
            lines.append(f"\n{n}: {len(summaries[n]['overruns'])} cases ran past {CASE_LIMIT_S} s "
                         f"(counted as not equal): {', '.join(summaries[n]['overruns'])}.")
    lines += ["", "Gradings/s: cases / the summed time of the grading calls (start-up and imports excluded); peers "
              "that compare answers also spend time in their own extractor. Load average at the start "
              f"{info['load_average']}."]
    text = "\n".join(lines) + "\n"
    (out / "verifier_peers.md").write_text(text)
    return text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default=str(CASES))
    ap.add_argument("--peers", default="/work/peers", help="folder with the peers' code (outside the repository)")
    ap.add_argument("--only", default="", help="comma-separated grader names to run (default: all)")
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    cases = [json.loads(line) for line in Path(args.cases).read_text(encoding="utf-8").splitlines() if line.strip()]
    cases += own_cases()
    info = machine_info(["math-verify", "sympy"])
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    results: dict = {}
    for name in ["ours", *RUNNERS]:
        if only and name not in only:
            continue
        print(f"grading with {name} ...", file=sys.stderr, flush=True)
        results[name] = run_ours(cases) if name == "ours" else run_peer(name, Path(args.peers), cases)
        if results[name]["available"]:
            results[name]["summary"] = summarise(cases, results[name]["verdicts"])
            s = results[name]["summary"]
            print(f"  {name}: {_pct(s['headline']['agree'], s['headline']['n'])}, {s['per_second']}/s", file=sys.stderr)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = {"machine": info, "cases": len(cases),
              "graders": {n: ({"available": True, "summary": r["summary"],
                               "verdicts": {c["id"]: v["verdict"] for c, v in zip(cases, r["verdicts"])}}
                              if r["available"] else {"available": False, "why": r["why"]}) for n, r in results.items()}}
    if "ours" in results:
        (out / "verifier_peers.json").write_text(json.dumps(report, indent=1) + "\n")
        print(write_report(cases, results, out, info))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
