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


def shell_imports(graph: dict[str, set[str]]) -> list[str]:
    """Edges into the ROS shell (`ros/`) from outside it: what they need is ROS-free and belongs below the shell."""
    def inside(module: str) -> bool:
        return module == f"{PACKAGE}.ros" or module.startswith(f"{PACKAGE}.ros.")

    return sorted(f"{m} -> {t}" for m, targets in graph.items() if not inside(m) for t in targets if inside(t))


def test_shell_import_checker():
    graph = {f"{PACKAGE}.bench.b": {f"{PACKAGE}.ros.conversions", f"{PACKAGE}.raw_image"},
             f"{PACKAGE}.ros.pipeline": {f"{PACKAGE}.ros.perception_worker", f"{PACKAGE}.raw_image"},
             f"{PACKAGE}.rosbag": {f"{PACKAGE}.ros"}}
    assert shell_imports(graph) == [f"{PACKAGE}.bench.b -> {PACKAGE}.ros.conversions",
                                    f"{PACKAGE}.rosbag -> {PACKAGE}.ros"]


def test_nothing_outside_the_ros_shell_imports_it():
    found = shell_imports(import_graph())
    assert not found, ("modules outside ros/ import the ROS shell (move the ROS-free code they use out of ros/, e.g. "
                       f"next to {PACKAGE}/raw_image.py or into geometry/):\n  " + "\n  ".join(found))


# ---- layers: config sits above the stages, the shared ground below them --------------------------------------------
STAGES = ("segment", "describe", "reason", "track")
# The shared ground every layer may use; it imports no stage (and nothing above).
FOUNDATION = ("errors", "types", "utils", "image_io", "image_encodings", "raw_image", "compressed_depth", "geometry",
              "models", "registry", "runtime", "targets")


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


# ---- private attributes: `obj._name` only on the module's own objects -------------------------------------------
# A third-party object's private attribute where its library has no public way, each read in one place only:
# rclpy's Node keeps the -p / --params-file values of parameters not yet declared in `_parameter_overrides`.
THIRD_PARTY_PRIVATE = {("ros/params.py", "_parameter_overrides")}


def _is_private(name: str) -> bool:
    """`_name`, not `__dunder__` and not a `_sunder_` protocol name (ctypes `_fields_`, enum `_value_`)."""
    return name.startswith("_") and not name.startswith("__") and not (name.endswith("_") and len(name) > 2)


def own_names(tree: ast.AST) -> set[str]:
    """Names a module defines: its functions and classes (any depth), `self._x = ...` / `cls._x = ...`, and
    assignments at module or class level."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
            if isinstance(node, ast.ClassDef):
                for stmt in node.body:
                    targets = stmt.targets if isinstance(stmt, ast.Assign) else \
                        [stmt.target] if isinstance(stmt, ast.AnnAssign) else []
                    names.update(t.id for t in targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and \
                isinstance(node.value, ast.Name) and node.value.id in {"self", "cls"}:
            names.add(node.attr)
    for stmt in tree.body if isinstance(tree, ast.Module) else []:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] if isinstance(stmt, ast.AnnAssign) \
            else []
        names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def private_attributes_reached(root: Path = ROOT) -> list[str]:
    """`obj._name` (also getattr / hasattr / setattr(obj, "_name")) where `obj` is not `self` / `cls` and the module
    does not define `_name` itself: another module's private state used as if it were an API. Also
    `getattr(self, "_name", default)`: an attribute created on first use instead of in `__init__`."""
    found: list[tuple[str, int, str]] = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        allowed: list[tuple[str, int, str]] = []
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        own = own_names(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                value, attr, default = node.value, node.attr, False
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                  and node.func.id in {"getattr", "hasattr", "setattr"} and len(node.args) >= 2
                  and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)):
                value, attr = node.args[0], node.args[1].value
                default = node.func.id == "getattr" and len(node.args) == 3
            else:
                continue
            if not _is_private(attr):
                continue
            if (rel, attr) in THIRD_PARTY_PRIVATE:
                allowed.append((rel, node.lineno, ast.unparse(node)))
                continue
            mine = isinstance(value, ast.Name) and value.id in {"self", "cls"}
            if mine and default:
                found.append((rel, node.lineno, f"{ast.unparse(node)} (declare it in __init__)"))
            elif not mine and attr not in own:
                found.append((rel, node.lineno, ast.unparse(node)))
        if len(allowed) > 1:
            found += [(r, line, f"{text} (read it in one place)") for r, line, text in allowed]
    return [f"{rel}:{line}: {text}" for rel, line, text in sorted(found)]


def test_private_attribute_checker(tmp_path):
    pkg = tmp_path / PACKAGE
    pkg.mkdir()
    (pkg / "a.py").write_text(
        "class A:\n    _shared = 1\n    def __init__(self):\n        self._x = 1\n"
        "    def merge(self, other):\n        return other._x + other._shared + self._x\n"
        "    def _helper(self):\n        return getattr(self, '_lazy', None)\n"
        "def f(a):\n    a._helper()\n    return a.__class__, a._fields_\n")
    (pkg / "b.py").write_text(
        "from gear_seg_ros import a\n\ndef g(node, obj):\n    node.agent._reasoner.close()\n    a._helper\n"
        "    getattr(obj, '_inner', None)\n    setattr(obj, '_flag', True)\n    return obj.public\n")
    assert private_attributes_reached(pkg) == [
        "a.py:8: getattr(self, '_lazy', None) (declare it in __init__)",
        "b.py:4: node.agent._reasoner", "b.py:5: a._helper", "b.py:6: getattr(obj, '_inner', None)",
        "b.py:7: setattr(obj, '_flag', True)"]


def test_no_private_attribute_crosses_a_module_boundary():
    found = private_attributes_reached()
    assert not found, ("private attributes reached through another module's object (give the owner a method or a "
                       "typed result):\n  " + "\n  ".join(found))
