"""The `ros` and `slow` markers stay consistent, so `-m "not slow"` stays quick and `-m "not ros"` skips every node.

`ros` is applied by path (tests/ros/conftest.py); these checks keep node tests inside tests/ros and keep every test
that waits for a served node (`running_node`, ~10-20 s of start-up and model loads on 2 cores) marked `slow`.
"""
import ast
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROS_DIR = TESTS / "ros"
ROS_IMPORTS = ("rclpy", "gear_seg_msgs", "node_client", "ros_env", "launch_ros")
NODE_STARTERS = {"running_node"}


def source_files():
    return sorted(TESTS.rglob("test_*.py"))


def imported_modules(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def marks(decorators: list[ast.expr]) -> set[str]:
    """Names X of every `pytest.mark.X` (called or not) in decorators or a pytestmark value."""
    return {n.attr for d in decorators for n in ast.walk(d)
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Attribute) and n.value.attr == "mark"}


def module_marks(tree: ast.Module) -> set[str]:
    return marks([n.value for n in tree.body if isinstance(n, ast.Assign)
                  and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in n.targets)])


def calls(fn: ast.FunctionDef) -> set[str]:
    return {n.func.id for n in ast.walk(fn) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}


def unmarked_node_tests(tree: ast.Module) -> list[str]:
    """Tests that start a served node (directly or through a fixture of their module) without a `slow` mark."""
    functions = [(n, set()) for n in tree.body if isinstance(n, ast.FunctionDef)]
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
        functions += [(n, marks(cls.decorator_list)) for n in cls.body if isinstance(n, ast.FunctionDef)]
    fixtures = {fn.name: fn for fn, _ in functions if "fixture" in ast.dump(ast.Module(fn.decorator_list, []))}
    starting = {name for name, fn in fixtures.items() if calls(fn) & NODE_STARTERS}
    changed = True
    while changed:  # fixtures built on a node fixture start it too
        grown = {name for name, fn in fixtures.items() if {a.arg for a in fn.args.args} & starting}
        changed, starting = not grown <= starting, starting | grown
    outer = module_marks(tree)
    return [fn.name for fn, class_marks in functions if fn.name.startswith("test_")
            and (calls(fn) & NODE_STARTERS or {a.arg for a in fn.args.args} & starting)
            and "slow" not in marks(fn.decorator_list) | class_marks | outer]


def test_node_tests_live_in_tests_ros():
    """Outside tests/ros no `ros` marker is applied, so nothing there may use ROS."""
    offenders = {str(p.relative_to(TESTS)): sorted(imported_modules(ast.parse(p.read_text())) & set(ROS_IMPORTS))
                 for p in source_files() if ROS_DIR not in p.parents}
    offenders = {k: v for k, v in offenders.items() if v}
    assert not offenders, f"move these tests to tests/ros/ (marked `ros` there by path): {offenders}"


def test_every_served_node_test_is_marked_slow():
    offenders = {str(p.relative_to(TESTS)): names for p in source_files()
                 if (names := unmarked_node_tests(ast.parse(p.read_text())))}
    assert not offenders, f"add @pytest.mark.slow (a served node takes > 5 s to start on 2 cores): {offenders}"


def test_the_checker_finds_an_unmarked_node_test():
    source = ("import pytest\n@pytest.fixture\ndef served():\n    with running_node(1, {}) as n:\n        yield n\n"
              "@pytest.fixture\ndef reset(served):\n    return served\n"
              "def test_a(reset): pass\n@pytest.mark.slow\ndef test_b(served): pass\n"
              "def test_c(tmp_path):\n    running_node(tmp_path, {})\ndef test_d(tmp_path): pass\n")
    assert unmarked_node_tests(ast.parse(source)) == ["test_a", "test_c"]
    assert unmarked_node_tests(ast.parse("import pytest\npytestmark = [pytest.mark.slow]\n" + source)) == []


def test_every_test_under_tests_ros_is_marked_ros():
    """Collects tests/ros with `-m "not ros"`: the path hook in tests/ros/conftest.py must leave nothing."""
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                          "-m", "not ros", str(ROS_DIR)], capture_output=True, text=True, cwd=TESTS.parent,
                         timeout=300)
    assert out.returncode == 5, out.stdout[-2000:] + out.stderr[-2000:]  # 5: no tests selected
    assert " deselected" in out.stdout, out.stdout[-2000:]  # (a collection error gives 2 or 1)
