"""The package's import graph: no circles, and runtime code never imports build-time export modules.

The graph is read with `ast` (nothing is imported), from every `import` / `from ... import` anywhere in a module
(top level, inside functions, under TYPE_CHECKING). `from gear_seg_ros.a import b` is an edge to the module
`gear_seg_ros.a.b` when that module exists, else to `gear_seg_ros.a`; a package's `__init__` running first when one of
its submodules is imported is Python's mechanism, not an edge.
"""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "gear_seg_ros"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE
RUNTIME = ("segment", "describe", "reason", "runtime", "track")
BUILD_TIME = (f"{PACKAGE}.export",)


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _target(name: str, modules: set[str]) -> str | None:
    while name and name not in modules:  # `import gear_seg_ros.a.b.attr` style: the longest existing module
        name = name.rpartition(".")[0]
    return name or None


def imports_of(path: Path, this: str, modules: set[str], is_package: bool) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                anchor = this.split(".") if is_package else this.split(".")[:-1]
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        else:
            continue
        for name in names:
            if name == PACKAGE or name.startswith(PACKAGE + "."):
                target = _target(name, modules)
                if target and target != this:
                    found.add(target)
    return found


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    files = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    modules = set(files)
    return {m: imports_of(p, m, modules, p.name == "__init__.py") for m, p in files.items()}


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm (iterative: no recursion limit); components in no particular order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(sorted(component))
    return components


def a_cycle(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """One concrete circle inside a component, for the failure message: a -> b -> ... -> a."""
    members = set(component)
    start = component[0]
    parents: dict[str, str] = {}
    frontier = [start]
    while frontier:  # breadth first from start until an edge leads back to it
        nxt_frontier = []
        for node in frontier:
            for nxt in sorted(graph[node] & members):
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parents[path[-1]])
                    return [*reversed(path), start]
                if nxt not in parents:
                    parents[nxt] = node
                    nxt_frontier.append(nxt)
        frontier = nxt_frontier
    return component


def circles(graph: dict[str, set[str]]) -> list[str]:
    """One line per group of modules that reach each other: a circle in it, and the rest of the group if larger."""
    lines = []
    for component in (c for c in strongly_connected(graph) if len(c) > 1):
        cycle = a_cycle(graph, component)
        rest = sorted(set(component) - set(cycle))
        lines.append(" -> ".join(cycle) + (f" (also in this group: {', '.join(rest)})" if rest else ""))
    return sorted(lines)


# ---- the checker itself, on small graphs and a package written to a temp folder -----------------------------------
def test_tarjan_finds_circles_and_only_circles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": {"e"}, "e": set(), "f": {"f", "e"}}
    components = sorted(strongly_connected(graph))
    assert components == [["a", "b", "c"], ["d"], ["e"], ["f"]]
    assert circles(graph) == ["a -> b -> c -> a"]
    assert circles({"a": {"b"}, "b": {"a", "c"}, "c": {"b"}}) == ["a -> b -> a (also in this group: c)"]
    assert circles({"x": {"y"}, "y": set()}) == []


def test_graph_reads_function_level_relative_and_submodule_imports(tmp_path):
    pkg = tmp_path / PACKAGE
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from .leaf import VALUE\n")
    (pkg / "sub" / "leaf.py").write_text("def f():\n    from gear_seg_ros import top\n    return top\nVALUE = 1\n")
    (pkg / "top.py").write_text("import os\nfrom gear_seg_ros.sub import leaf\nimport gear_seg_ros.sub.leaf.VALUE\n")
    graph = import_graph(pkg)
    assert graph[f"{PACKAGE}.sub"] == {f"{PACKAGE}.sub.leaf"}
    assert graph[f"{PACKAGE}.sub.leaf"] == {f"{PACKAGE}.top"}
    assert graph[f"{PACKAGE}.top"] == {f"{PACKAGE}.sub.leaf"}
    assert circles(graph) == [f"{PACKAGE}.sub.leaf -> {PACKAGE}.top -> {PACKAGE}.sub.leaf"]


# ---- the package --------------------------------------------------------------------------------------------------
def test_graph_covers_the_package():
    graph = import_graph()
    assert f"{PACKAGE}.engine.runner" in graph and f"{PACKAGE}.segment.onnx_sam2" in graph
    assert f"{PACKAGE}.config" in graph[f"{PACKAGE}.engine.runner"]


def test_no_import_circles():
    found = circles(import_graph())
    assert not found, "import circles (move what both sides need into a third module):\n  " + "\n  ".join(found)


def test_runtime_code_does_not_import_build_time_exports():
    graph = import_graph()
    bad = sorted(f"{m} -> {t}" for m, targets in graph.items()
                 if m.split(".")[1:2] and m.split(".")[1] in RUNTIME
                 for t in targets if any(t == b or t.startswith(b + ".") for b in BUILD_TIME))
    assert not bad, ("runtime modules import build-time export code (share the constants through "
                     f"{PACKAGE}/runtime/ instead):\n  " + "\n  ".join(bad))


# ---- layers: config sits above the stages, the shared ground below them --------------------------------------------
STAGES = ("segment", "describe", "reason", "track")
# The shared ground every layer may use; it imports no stage (and nothing above).
FOUNDATION = ("errors", "types", "utils", "image_io", "image_encodings", "compressed_depth", "geometry", "models",
              "registry", "runtime", "targets")


def _top(module: str) -> str:
    return module.split(".")[1] if module.count(".") else ""


def layer_breaks(graph: dict[str, set[str]]) -> list[str]:
    """A stage importing config (stages import only their own settings modules; config assembles them), a
    foundation module importing a stage, and the data engine importing a reasoner's internals instead of the
    contract (the reason package's names, reason/base.py)."""
    config = f"{PACKAGE}.config"
    found = [f"{m} -> {config} (a stage imports its own settings, never config)"
             for m, targets in graph.items() if _top(m) in STAGES and config in targets]
    found += [f"{m} -> {t} (shared ground imports a stage)" for m, targets in graph.items() if _top(m) in FOUNDATION
              for t in targets if _top(t) in STAGES]
    contract = {f"{PACKAGE}.reason", f"{PACKAGE}.reason.base"}
    found += [f"{m} -> {t} (the engine uses the reasoner contract)" for m, targets in graph.items()
              if _top(m) == "engine" for t in targets if _top(t) == "reason" and t not in contract]
    return sorted(found)


def test_layer_checker():
    p = PACKAGE
    graph = {f"{p}.segment.classical": {f"{p}.config", f"{p}.segment.settings"}, f"{p}.segment.settings": set(),
             f"{p}.config": {f"{p}.segment.settings", f"{p}.segment"}, f"{p}.utils.x": {f"{p}.reason.base"},
             f"{p}.agent": {f"{p}.config", f"{p}.reason"}, f"{p}.engine.runner": {f"{p}.reason", f"{p}.reason.base"},
             f"{p}.engine.llm_calls": {f"{p}.reason.llm"}}
    stage_to_config = f"{p}.segment.classical -> {p}.config (a stage imports its own settings, never config)"
    assert layer_breaks(graph) == [f"{p}.engine.llm_calls -> {p}.reason.llm (the engine uses the reasoner contract)",
                                   stage_to_config, f"{p}.utils.x -> {p}.reason.base (shared ground imports a stage)"]


def test_stages_do_not_import_config_and_the_ground_imports_no_stage():
    found = layer_breaks(import_graph())
    assert not found, "imports that run back up (a stage's settings go in <stage>/settings.py, which config.py " \
        "assembles):\n  " + "\n  ".join(found)


def test_importing_the_config_loads_no_backend_package():
    """config.py assembles the stages' settings modules, which import pydantic only: no backend's packages."""
    import subprocess
    import sys

    heavy = ("torch", "skimage", "sentence_transformers", "cv2", "llama_cpp", "onnxruntime", "httpx")
    code = f"import sys, gear_seg_ros.config; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", f"import gear_seg_ros.config loads {out.stdout.strip()}"


def private_imports(root: Path = ROOT) -> list[str]:
    """`from gear_seg_ros.x import _name` in another module: a private name used as if it were an API."""
    found = []
    for path in sorted(root.rglob("*.py")):
        this = module_name(path, root)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").startswith(PACKAGE):
                found += [f"{this}: from {node.module} import {a.name}" for a in node.names
                          if a.name.startswith("_") and not a.name.startswith("__") and node.module != this]
    return found


def test_private_import_checker(tmp_path):
    pkg = tmp_path / PACKAGE
    pkg.mkdir()
    (pkg / "a.py").write_text("def _helper():\n    pass\n")
    (pkg / "b.py").write_text("from gear_seg_ros.a import _helper\nfrom __future__ import annotations\n")
    assert private_imports(pkg) == [f"{PACKAGE}.b: from {PACKAGE}.a import _helper"]


def test_no_private_names_imported_across_modules():
    found = private_imports()
    assert not found, "private names imported from other modules (make them public or move them):\n  " + \
        "\n  ".join(found)


def stage_insides_used(root: Path = ROOT) -> list[str]:
    """Attribute reads/writes of a reasoner's insides outside reason/, or of the agent's cache outside agent.py."""
    found = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute):
                value, attr = node.value, node.attr
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in {"getattr", "hasattr"}
                  and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant)):
                value, attr = node.args[0], str(node.args[1].value)  # getattr(reasoner, "llm", None)
            else:
                continue
            if not isinstance(value, ast.Attribute | ast.Name):
                continue
            owner = value.attr if isinstance(value, ast.Attribute) else value.id
            if "reasoner" in owner.lower() and attr in {"llm", "cfg"} and not rel.startswith("reason/"):
                found.append(f"{rel}:{node.lineno}: {owner}.{attr}")
            if owner == "agent" and attr in {"cache", "_cache"} and rel != "agent.py":
                found.append(f"{rel}:{node.lineno}: {owner}.{attr}")
    return found


def test_stage_insides_checker(tmp_path):
    pkg = tmp_path / PACKAGE
    (pkg / "engine").mkdir(parents=True)
    (pkg / "engine" / "calls.py").write_text("def f(agent, reasoner):\n    reasoner.llm.reset()\n    agent.cache.put(1)\n"
                                      "    getattr(reasoner, 'cfg', None)\n")
    assert sorted(stage_insides_used(pkg)) == ["engine/calls.py:2: reasoner.llm", "engine/calls.py:3: agent.cache",
                                       "engine/calls.py:4: reasoner.cfg"]


def test_no_module_reaches_into_a_reasoner_or_the_agent_cache():
    found = stage_insides_used()
    assert not found, "use the Reasoner contract (select / complete / reset) and the agent's perception API:\n  " + \
        "\n  ".join(found)
