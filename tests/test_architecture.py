"""The layout's rules, read from the source (docs/architecture.md):

- layering one way: verifiers/ imports nothing of the rest; envs/ imports only verifiers/; agents/ never imports
  cli/ (imports inside functions count too);
- no import cycle among module-level imports;
- agents/ top level holds only the acting agents (an Agent subclass per module, plus base.py) and subpackages;
- every package directory is listed in pyproject.toml;
- ``import rlvr_gym`` and making the text envs import no torch/transformers/trl.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {"verifiers": "verifiers", "envs": "envs", "agents": "agents", "cli": "cli"}


def _modules() -> dict[str, Path]:
    """rlvr_gym module name -> file, for the four top-level packages."""
    out = {}
    for top, folder in LAYERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT / folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            out[".".join(["rlvr_gym", top, *parts])] = path
    return out


MODULES = _modules()


def _imports(path: Path, module: str, module_level_only: bool) -> set[str]:
    """The rlvr_gym modules a file imports (``from pkg import sub`` counts as pkg.sub when sub is a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    nodes = tree.body if module_level_only else list(ast.walk(tree))
    if module_level_only:   # module level includes `if TYPE_CHECKING:` blocks' siblings, not function bodies
        nodes = [n for n in nodes if isinstance(n, (ast.Import, ast.ImportFrom))]
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in MODULES else base)
    return {name for name in found if name.startswith("rlvr_gym.")}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


ALLOWED = {"verifiers": {"verifiers"}, "envs": {"envs", "verifiers"}, "agents": {"agents", "envs", "verifiers"},
           "cli": {"cli", "agents", "envs", "verifiers"}}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_layers_point_one_way(module):
    layer = _layer(module)
    bad = sorted(m for m in _imports(MODULES[module], module, module_level_only=False)
                 if _layer(m) is not None and _layer(m) not in ALLOWED[layer])
    assert not bad, f"{module} ({layer}/) imports {bad}"


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of the directed graph (as a path that returns to its start), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycles_among_module_level_imports():
    graph = {m: {d for d in _imports(p, m, module_level_only=True) if d in MODULES and d != m} for m, p in MODULES.items()}
    cycle = _find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)
    # the same walk finds a cycle planted into the real graph (run -> gdro -> run)
    planted = {m: set(d) for m, d in graph.items()}
    planted["rlvr_gym.agents.grpo.gdro"].add("rlvr_gym.agents.grpo.run")
    assert _find_cycle(planted) is not None


def test_agents_top_level_holds_acting_agents_and_subpackages():
    top = sorted(p for p in (ROOT / "agents").glob("*.py") if p.name not in ("__init__.py", "base.py"))
    assert top, "no acting agents?"
    for path in top:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        agents = [n.name for n in tree.body if isinstance(n, ast.ClassDef)
                  and any(getattr(b, "id", getattr(b, "attr", None)) == "Agent" for b in n.bases)]
        assert agents, f"agents/{path.name} defines no Agent subclass: it belongs in a subpackage"


def test_every_package_is_in_pyproject():
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    listed = set(config["packages"])
    on_disk = {"rlvr_gym"} | {
        ".".join(["rlvr_gym", top, *init.parent.relative_to(ROOT / folder).parts]).rstrip(".")
        for top, folder in LAYERS.items() for init in (ROOT / folder).rglob("__init__.py")}
    assert on_disk == listed


def test_import_and_make_text_envs_load_no_training_stack():
    code = ("import sys, gymnasium as gym, rlvr_gym\n"
            "for env_id in ('TemporalClue-v0', 'TemporalClue-Feedback-v0', 'Math-v0'):\n"
            "    gym.make(env_id).reset(seed=0)\n"
            "print(sorted(m for m in ('torch', 'transformers', 'trl', 'vllm', 'datasets') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"
