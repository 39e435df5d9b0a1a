"""Build the labelled case set of benchmarks/verifier_peers.py from the public test suites of other verifiers.

Reads the test files (data only: the (gold, prediction, expected) rows their tests assert) out of local git snapshots
of the projects, and writes ``benchmarks/data/verifier_peers/cases.jsonl``: one JSON object a line with

    id, suite, gold, prediction, expected, source_repo, commit, file, test_name, category, kind, options, note

- ``expected``: the label the source test asserts (true = the two are equal / the reply is right).
- ``kind``: "reply" when the prediction is a whole model reply (prose around the answer), "answer" when it is an
  answer expression (what an extractor would hand over).
- ``options``: the source test's non-default settings of its own grader (e.g. math-verify ``precision=2``);
  empty when the test runs with defaults. Such labels hold under that setting; the benchmark reports them apart.
- ``category``: one of CATEGORIES, assigned by ``categorize`` below (a rule on the case's text, not chosen by hand).

Nothing of the projects' code is kept: only the literal test data, each row with its repository, commit, file and test
name. Licences: benchmarks/data/verifier_peers/LICENSES.md.

Run: python benchmarks/verifier_peers_cases.py --mirror DIR   (DIR holds OWNER+NAME/repo bare git snapshots)
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "data" / "verifier_peers" / "cases.jsonl"

CATEGORIES = ("free_text", "number_format", "quantity_words", "decimal_exact", "several_answers", "order",
              "program_syntax", "hedge", "relation", "expression", "text")

# (suite, repository, [(file, commit or None for the snapshot's HEAD)])
MATH_VERIFY = "huggingface/Math-Verify"
MATH_VERIFY_FILES = ["tests/test_all.py", "tests/test_boxed.py", "tests/test_numina_cases.py",
                     "tests/test_open_thoughts.py", "tests/test_yujianll.py", "tests/test_strict.py"]
QWEN_FUNCTION = "test_complex_math_expressions"     # math-verify's labelled port of Qwen2.5-Math's grader checks


def git(mirror: Path, repo: str, *args: str) -> str:
    gdir = mirror / repo.replace("/", "+") / "repo"
    return subprocess.run(["git", f"--git-dir={gdir}", *args], check=True, capture_output=True, text=True).stdout


def head(mirror: Path, repo: str) -> str:
    return git(mirror, repo, "rev-parse", "HEAD").strip()


def _literal(node: ast.AST):
    try:
        return ast.literal_eval(node)
    except ValueError:
        # f"{math.sqrt(17):.15f}" and similar: evaluate with the math module only
        code = compile(ast.Expression(node), "<case>", "eval")
        return eval(code, {"__builtins__": {}, "math": math})  # noqa: S307 - literal test data of a known file


def _parametrize_rows(func: ast.FunctionDef):
    for dec in func.decorator_list:
        if isinstance(dec, ast.Call) and getattr(dec.func, "attr", "") == "parametrize":
            names = [n.strip() for n in _literal(dec.args[0]).split(",")] if isinstance(dec.args[0], ast.Constant) \
                else list(_literal(dec.args[0]))
            for elt in dec.args[1].elts:
                if len(names) > 1 and isinstance(elt, ast.Tuple):
                    values = [_literal(v) for v in elt.elts]
                else:
                    values = [_literal(elt)]
                yield dict(zip(names, values))


def _compare_options(func: ast.FunctionDef, row: dict) -> dict:
    """The keyword settings the test passes to math-verify (compare_strings / verify), resolved for one row."""
    options = {}
    for node in ast.walk(func):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("compare_strings", "verify"):
            for kw in node.keywords:
                if kw.arg in ("match_types", "precision", "strict", "allow_set_relation_comp"):
                    value = row[kw.value.id] if isinstance(kw.value, ast.Name) else _literal(kw.value)
                    options[kw.arg] = value
    defaults = {"match_types": ["latex", "expr"], "precision": 6, "strict": True, "allow_set_relation_comp": False}
    return {k: v for k, v in options.items() if defaults.get(k) != v}


def math_verify_cases(mirror: Path) -> list[dict]:
    commit = head(mirror, MATH_VERIFY)
    cases = []
    for path in MATH_VERIFY_FILES:
        tree = ast.parse(git(mirror, MATH_VERIFY, "show", f"HEAD:{path}"))
        for func in [n for n in tree.body if isinstance(n, ast.FunctionDef)]:
            for row in _parametrize_rows(func):
                if not {"gold", "pred"} <= row.keys():
                    continue
                expected = row.get("expected", row.get("result"))
                suite = "qwen25-math" if func.name == QWEN_FUNCTION else "math-verify"
                note = ("Qwen2.5-Math evaluation/grader.py _test_math_equal pair, as labelled by math-verify's port"
                        if suite == "qwen25-math" else "")
                cases.append(dict(suite=suite, gold=row["gold"], prediction=row["pred"], expected=bool(expected),
                                  source_repo=MATH_VERIFY, commit=commit, file=path, test_name=func.name,
                                  options=_compare_options(func, row), note=note))
    return cases


def hendrycks_cases(mirror: Path) -> list[dict]:
    repo, path = "hendrycks/math", "modeling/math_equivalence_test.py"
    commit = head(mirror, repo)
    tree = ast.parse(git(mirror, repo, "show", f"HEAD:{path}").replace("\t", "    "))
    cases = []
    for func in ast.walk(tree):
        if not isinstance(func, ast.FunctionDef) or not func.name.startswith("test_"):
            continue
        values, expected = {}, None
        for node in ast.walk(func):
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                values[node.targets[0].id] = _literal(node.value)
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") in ("assertTrue", "assertFalse"):
                expected = node.func.attr == "assertTrue"
        cases.append(dict(suite="hendrycks-math", gold=values["test_in"], prediction=values["test_out"],
                          expected=expected, source_repo=repo, commit=commit, file=path, test_name=func.name,
                          options={}, note="is_equiv(test_in, test_out): test_in taken as the gold"))
    return cases


def nemo_cases(mirror: Path) -> list[dict]:
    repo, path = "NVIDIA/NeMo-Skills", "tests/test_math_equal.py"
    commit = head(mirror, repo)
    tree = ast.parse(git(mirror, repo, "show", f"HEAD:{path}"))
    cases = []
    for func in [n for n in tree.body if isinstance(n, ast.FunctionDef)]:
        expected = func.name == "test_correct_examples"
        for row in _parametrize_rows(func):
            a, b = row["output_pair"]
            # the test asserts math_equal in both directions: two cases
            for gold, pred, direction in ((a, b, "math_equal(a, b)"), (b, a, "math_equal(b, a)")):
                cases.append(dict(suite="nemo-skills", gold=gold, prediction=pred, expected=expected, source_repo=repo,
                                  commit=commit, file=path, test_name=func.name, options={}, note=direction))
    return cases


def verl_cases(mirror: Path) -> list[dict]:
    repo = "volcengine/verl"
    cases = []
    # A pull request's test (merge commit d69068d2a): is_equiv(remove_boxed(gt), pred) is True.
    commit = git(mirror, repo, "rev-parse", "d69068d2a").strip()
    path = "tests/utils/reward_score/test_numeric_canonicalization_on_cpu.py"
    tree = ast.parse(git(mirror, repo, "show", f"{commit}:{path}"))
    for func in [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "test_is_equiv_boxed"]:
        for row in _parametrize_rows(func):
            cases.append(dict(suite="verl", gold=row["gt"], prediction=row["pred"], expected=True, source_repo=repo,
                              commit=commit, file=path, test_name=func.name, options={},
                              note="pull-request merge commit (not on main)"))
    # The GSM8K interaction tests: the reward each test expects for a reply (compute_score is mocked there).
    head_commit = head(mirror, repo)
    path = "tests/interactions/test_gsm8k_interaction.py"
    src = git(mirror, repo, "show", f"HEAD:{path}")
    for test_name, reply, expected in (
        ("test_generate_response_correct_answer_with_prefix", "#### 42", True),
        ("test_generate_response_correct_answer_without_prefix", "42", True),
        ("test_generate_response_incorrect_answer", "24", False),
        ("test_calculate_score_with_kwargs", "#### 24", False),
    ):
        if f"def {test_name}" not in src or f'"{reply}"' not in src:
            raise SystemExit(f"verl: {test_name} / {reply!r} not found in {path}")
        cases.append(dict(suite="verl", gold="42", prediction=reply, expected=expected, source_repo=repo,
                          commit=head_commit, file=path, test_name=test_name, options={},
                          note="label = the reward the test expects (its compute_score is mocked)"))
    return cases


def open_r1_cases(mirror: Path) -> list[dict]:
    repo, path = "huggingface/open-r1", "tests/test_rewards.py"
    commit = head(mirror, repo)
    src = git(mirror, repo, "show", f"HEAD:{path}")
    cases = []
    for test_name, reply, gold, expected in (
        ("test_accuracy_reward_correct_answer", r"\boxed{\frac{63}{400}}", r"\frac{63}{400}", True),
        ("test_accuracy_reward_wrong_answer", r"\boxed{\frac{64}{400}}", r"\frac{63}{400}", False),
        ("test_accuracy_reward_wrong_answer_no_latex", r"\boxed{3}", "6", False),
    ):
        if f"def {test_name}" not in src:
            raise SystemExit(f"open-r1: {test_name} not found")
        cases.append(dict(suite="open-r1", gold=gold, prediction=reply, expected=expected, source_repo=repo,
                          commit=commit, file=path, test_name=test_name, options={}, note="accuracy_reward"))
    return cases


def reasoning_gym_cases(mirror: Path) -> list[dict]:
    """reasoning-gym's integration score_answer cases. Its tests grade an antiderivative against the integrand; here the
    gold is sympy's antiderivative of that integrand written with "+ C" (the label is the test's)."""
    import sympy

    repo, path = "open-thought/reasoning-gym", "tests/test_intermediate_integration.py"
    commit = head(mirror, repo)
    tree = ast.parse(git(mirror, repo, "show", f"HEAD:{path}"))
    cases = []
    for func in [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "test_score_answer_cases"]:
        for node in ast.walk(func):
            if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "test_cases":
                for answer, meta, score in _literal(node.value):
                    var = sympy.Symbol(meta["variable"])
                    antiderivative = sympy.integrate(sympy.sympify(meta["integrand"], locals={meta["variable"]: var}), var)
                    gold = f"{sympy.sstr(antiderivative)} + C"
                    cases.append(dict(suite="reasoning-gym", gold=gold, prediction=answer, expected=score == 1.0,
                                      source_repo=repo, commit=commit, file=path, test_name=func.name, options={},
                                      note=f"integrand {meta['integrand']} in {meta['variable']} "
                                           "(the same rows are in tests/test_simple_integration.py)"))
    return cases


# ---------------------------------------------------------------------------------------------- categories

_BOX = re.compile(r"\\(?:boxed|fbox)\s*\{")
_WORDS = re.compile(r"(?<![\\a-zA-Z])[a-zA-Z]{2,}")
_LATEX_WORDS = {"frac", "dfrac", "tfrac", "sqrt", "text", "mathrm", "boxed", "left", "right", "begin", "end",
                "pmatrix", "bmatrix", "infty", "cdot", "times", "circ", "quad", "qquad", "textbf", "mbox", "textnormal",
                "sin", "cos", "tan", "sec", "log", "array", "pi", "leq", "geq", "neq", "approx", "cup", "cap", "pmod"}
_QUANTITY = re.compile(r"\b(?:thousand|hundred|million|billion|dozen|squared|cubed)\b|\\mathrm\{k\}", re.I)


def _prose_words(text: str) -> int:
    stripped = re.sub(r"\\[a-zA-Z]+", " ", text)
    return sum(1 for w in _WORDS.findall(stripped) if w.lower() not in _LATEX_WORDS)


_SPANS = re.compile(r"\$\$.*?\$\$|\\\[.*?\\\]|\\\(.*?\\\)|\$[^$]*\$|\\text\w*\{[^{}]*\}|\\mbox\{[^{}]*\}", re.S)


def kind_of(pred) -> str:
    """"reply" when prose surrounds the answer (two or more words outside math), else "answer"."""
    if not isinstance(pred, str):
        return "answer"
    outside = _SPANS.sub(" ", pred)
    return "reply" if _prose_words(outside) >= 2 or re.search(r"\b(?:Answer|Final)\b", outside) else "answer"


def categorize(case: dict) -> str:
    """One category per case, the first rule that applies (order matters)."""
    gold, pred = str(case["gold"]), str(case["prediction"])
    both = gold + " " + pred
    if case["suite"] == "reasoning-gym" or re.search(r"\*\*|\w\*\w", pred):
        return "program_syntax"
    tail = pred[-60:] + " ".join(re.findall(r"\\boxed\{[^{}]*\}", pred))   # the answer region, not the working
    if re.search(r"(?<![a-z\\])or(?![a-z])|\\lor|\\vee", tail) and not re.search(r"(?<![a-z\\])or(?![a-z])", gold):
        return "hedge"
    if case["kind"] == "reply" and not _BOX.search(pred) and "<answer>" not in pred and "####" not in pred:
        return "free_text"
    if _QUANTITY.search(both):
        return "quantity_words"
    if re.search(r"\d[ ,]\d{3}|\{,\}|\\!|\\\$|\d,\d|\\,\d", both):
        return "number_format"
    if re.search(r"\d\.\d{2,}", both) and re.search(r"\\frac|\\sqrt|\d/\d|\\pi", both):
        return "decimal_exact"
    if len(_BOX.findall(pred)) > 1 or len(_BOX.findall(gold)) > 1 or re.search(r"\bpart\b", pred):
        return "several_answers"
    if re.search(r",|;", gold) and re.search(r",|;", pred):
        return "order"
    if re.search(r"[<>=]|\\[lg]e|\\neq|\\approx", both):
        return "relation"
    if re.search(r"\\text|[a-zA-Z]{3,}", both) and not re.search(r"\\frac|\\sqrt|\^", both):
        return "text"
    return "expression"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mirror", default="/work/.mirror", help="folder of OWNER+NAME/repo bare git snapshots")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    mirror = Path(args.mirror)
    cases = (math_verify_cases(mirror) + hendrycks_cases(mirror) + nemo_cases(mirror) + verl_cases(mirror)
             + open_r1_cases(mirror) + reasoning_gym_cases(mirror))
    seen, rows = set(), []
    for case in cases:
        key = (case["suite"], json.dumps(case["gold"]), json.dumps(case["prediction"].strip()
               if isinstance(case["prediction"], str) else case["prediction"]), case["expected"], json.dumps(case["options"]))
        if key in seen:                      # a row repeated in one suite (copy-pasted parametrize rows) counts once
            continue
        seen.add(key)
        case["kind"] = kind_of(case["prediction"])
        case["category"] = categorize(case)
        rows.append(case)
    counts: dict[str, int] = {}
    for i, case in enumerate(rows):
        counts[case["suite"]] = counts.get(case["suite"], 0) + 1
        case["id"] = f"{case['suite']}-{counts[case['suite']]:03d}"
    keys = ["id", "suite", "gold", "prediction", "expected", "source_repo", "commit", "file", "test_name", "category",
            "kind", "options", "note"]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f:
        for case in rows:
            f.write(json.dumps({k: case[k] for k in keys}, ensure_ascii=False) + "\n")
    print(f"{len(rows)} cases -> {out}: " + ", ".join(f"{k} {v}" for k, v in counts.items()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
