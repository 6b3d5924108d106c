"""The code's shape, checked: imports point down (no circle among the project's modules, counting imports
inside functions too) and no module reaches into another's private names."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The project's packages and where their sources are.
PACKAGES = {
    "rft": ROOT / "rft",
    "reward": ROOT / "lambda_src" / "reward",
    "job_starter": ROOT / "lambda_src" / "job_starter",
    "code_runner": ROOT / "lambda_src" / "code_runner",
    "stacks": ROOT / "stacks",
}


def project_modules() -> dict[str, Path]:
    """Every module of the project by dotted name (a package is its ``__init__``), plus ``app``."""
    modules = {"app": ROOT / "app.py"}
    for package, root in PACKAGES.items():
        for path in sorted(root.rglob("*.py")):
            parts = [package, *path.relative_to(root).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def imports_of(path: Path) -> list[tuple[str, list[str], int]]:
    """(module, names imported from it, line) of every absolute import in the file, at any depth."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, [alias.name for alias in node.names], node.lineno))
    return found


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """module -> the project modules it imports (``from a import b`` counts ``a.b`` when that is a module)."""
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for module, names, _ in imports_of(path):
            for target in [module, *(f"{module}.{n}" for n in names)]:
                if target in modules and target != name:
                    graph[name].add(target)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
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
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_circle_finder_finds_a_circle() -> None:
    """The check itself can fail: a -> b -> c -> a is one circle; d -> a is not part of it."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(graph) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle_among_the_projects_modules() -> None:
    """Imports point down: two modules that import each other (directly or around a loop, even from inside
    a function) want a third, lower module."""
    modules = project_modules()
    assert len(modules) > 100  # the walk found the tree
    assert circles(import_graph(modules)) == []


def test_the_libraries_never_import_the_layers_above_them() -> None:
    """The reward library and the Lambda packages never import the CLI or the stacks; the stacks never import
    the CLI; code_runner (bundled alone into the sandbox, and run in-process by the code grader) imports
    nothing of ours."""
    forbidden = {
        "reward": ("rft", "stacks", "app", "job_starter"),
        "job_starter": ("rft", "stacks", "app"),
        "code_runner": ("rft", "stacks", "app", "reward", "job_starter"),
        "stacks": ("rft",),
    }
    wrong = []
    for name, path in project_modules().items():
        above = forbidden.get(name.split(".")[0], ())
        for module, _, line in imports_of(path):
            if module.split(".")[0] in above:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert wrong == []


def test_no_module_imports_another_modules_private_names() -> None:
    """``from x import _y`` or ``x._y`` across the project's modules: a private name is the module's own;
    what another module needs is public."""
    modules = project_modules()
    wrong = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases = {}  # local name -> project module it stands for
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    if (
                        node.module in modules
                        and alias.name.startswith("_")
                        and not alias.name.startswith("__")
                    ):
                        wrong.append(
                            f"{path.relative_to(ROOT)}:{node.lineno} from {node.module} import {alias.name}"
                        )
                    if f"{node.module}.{alias.name}" in modules:
                        aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in modules and alias.asname:
                        aliases[alias.asname] = alias.name
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and aliases[node.value.id] != name
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} {aliases[node.value.id]}.{node.attr}")
    assert wrong == []
