"""The house's floors: each package imports only from its own floor and those below it.

    config -> intake -> validators -> storage -> notify | bot -> schedule -> nomdesk -> web

`notify` and `bot` share a floor and do not import each other. A helper two floors need lives
on the lower one. Every import counts, the ones inside functions and under TYPE_CHECKING too:
a lazy import up a floor is still a floor the lower package cannot stand without. And no
module imports itself back through another (no circle), nor takes another module's private
(underscored) names, nor imports by name (importlib) except where this file allows it.
"""

from __future__ import annotations

import ast
import graphlib
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FLOORS: list[tuple[str, ...]] = [
    ("config",),
    ("intake",),
    ("validators",),
    ("storage",),
    ("notify", "bot"),
    ("schedule",),
    ("nomdesk",),
    ("web",),
]
FLOOR_OF = {package: level for level, packages in enumerate(FLOORS) for package in packages}


def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for package in FLOOR_OF:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, imported module, names taken from it) for every import in the module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    out: list[tuple[int, str, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")[: len(name.split(".")) - node.level + (1 if is_package else 0)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            out.append((node.lineno, module, [alias.name for alias in node.names]))
    return out


def _target(module: str, names: list[str]) -> list[str]:
    """The project modules an import reaches: `from pkg import mod` reaches pkg.mod only, while
    `from pkg import name` (a name of pkg's __init__) reaches pkg itself."""
    submodules = [f"{module}.{n}" for n in names if f"{module}.{n}" in MODULES]
    if module in MODULES and (not names or len(submodules) < len(names)):
        return [module, *submodules]
    if submodules:
        return submodules
    parts = module.split(".")
    while parts and ".".join(parts) not in MODULES:
        parts.pop()
    return [".".join(parts)] if parts else []


def test_floor_order_is_the_one_written_here() -> None:
    assert set(FLOOR_OF) == {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()} - {"tests", "bench"}


def test_no_import_runs_up_a_floor_or_across_one() -> None:
    bad = []
    for name, path in MODULES.items():
        own = name.split(".")[0]
        for line, module, _ in _imports(name, path):
            other = module.split(".")[0]
            if other not in FLOOR_OF or other == own:
                continue
            if FLOOR_OF[other] >= FLOOR_OF[own]:
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {module} ({other} is not below {own})")
    assert not bad, "\n".join(bad)


def test_no_module_takes_another_modules_private_names() -> None:
    bad = []
    for name, path in MODULES.items():
        for line, module, names in _imports(name, path):
            if module.split(".")[0] not in FLOOR_OF or module == name:
                continue
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if private:
                bad.append(f"{path.relative_to(ROOT)}:{line} takes {', '.join(private)} from {module}")
    assert not bad, "\n".join(bad)


def test_no_import_circle() -> None:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        for _, module, names in _imports(name, path):
            for target in _target(module, names):
                # A package's __init__ imports its own modules; a module importing its package's
                # __init__ back (`from intake.archive import extract` in a reader) closes a circle.
                if target != name:
                    graph[name].add(target)
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as circle:
        pytest.fail("import circle: " + " -> ".join(circle.args[1]))


DYNAMIC_IMPORTS = {"import_module", "__import__", "entry_points", "find_spec"}
# The one place a floor reaches upward by name: `nomdesk serve` mounts what plugs into its HTTP
# port (the dashboard, a floor above) through entry points, checked below against pyproject.toml.
DYNAMIC_ALLOWED = {("nomdesk.app", "entry_points")}


def test_no_module_imports_by_name_past_the_floors() -> None:
    """importlib and string imports would hide an import from the tests above."""
    found = set()
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if called in DYNAMIC_IMPORTS:
                    found.add((name, called))
    assert found <= DYNAMIC_ALLOWED, sorted(found - DYNAMIC_ALLOWED)


def test_entry_points_plug_in_from_above_never_from_below() -> None:
    """An entry-point group belongs to the package that loads it; what plugs in stands on its floor
    or above (the dashboard into `nomdesk serve`), never below, or the floors would run upward."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    groups = project.get("entry-points", {})
    assert groups, "pyproject.toml names no entry points: `nomdesk serve` would mount no dashboard"
    for group, plugins in groups.items():
        owner = group.split(".")[0]
        for target in plugins.values():
            package = target.split(":")[0].split(".")[0]
            assert FLOOR_OF[package] >= FLOOR_OF[owner], f"{group}: {target} is below {owner}"
    for script in project["scripts"].values():
        assert script.split(":")[0] in MODULES or script.split(":")[0].rsplit(".", 1)[0] in MODULES


@pytest.mark.parametrize("package", sorted(FLOOR_OF))
def test_each_package_says_what_lives_there(package: str) -> None:
    init = ROOT / package / "__init__.py"
    doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
    assert doc and len(doc) > 80, f"{package}/__init__.py has no opening docstring saying what lives there"
