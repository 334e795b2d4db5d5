"""The architecture as tests: who may import whom, no import cycles, and size limits.

The import graph comes from an AST walk over every module of ``sensor``, ``processing`` and
``dashboard`` (nothing is imported, so a broken module cannot hide a broken rule). The rules
are the ones each package's ``__init__`` docstring states; docs/architecture.md explains them.

Function-level imports (inside a ``def``) count for the package rules, because they are
dependencies all the same, but not for the cycle check: they run when the function is called,
after every module has loaded, so they cannot make an import-time cycle (the CLI's commands use
them to start quickly). Imports under ``if TYPE_CHECKING:`` count for both: a cycle that only
type annotations need is still a cycle in the design.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PACKAGES = ("sensor", "processing", "dashboard")

MAX_MODULE_LINES = 400
MAX_CLASS_LINES = 200


@dataclass(frozen=True, slots=True)
class Import:
    """One import statement's target, where it is, and whether it runs at import time."""

    module: str  # importing module
    target: str  # imported module (or the package a name was taken from)
    path: str
    line: int
    module_level: bool

    def __str__(self) -> str:
        """``path:line module imports target``, for failure messages."""
        return f"{self.path}:{self.line} {self.module} imports {self.target}"


def module_files() -> dict[str, Path]:
    """Every module of the project by dotted name."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


MODULES = module_files()


def _walk(node: ast.AST, in_function: bool) -> Iterator[tuple[ast.AST, bool]]:
    """Every node under ``node``, with whether it sits inside a function body."""
    for child in ast.iter_child_nodes(node):
        yield child, in_function
        nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
        yield from _walk(child, nested)


def imports_of(module: str, path: Path) -> list[Import]:
    """The absolute module names ``module`` imports (relative imports resolved)."""
    found = []
    rel = str(path.relative_to(ROOT))
    is_package = path.name == "__init__.py"
    for node, in_function in _walk(ast.parse(path.read_text(), rel), False):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from package import module`` depends on that module, not just the package.
            submodules = [f"{base}.{alias.name}" for alias in node.names]
            targets = [name for name in submodules if name in MODULES] or [base]
        for target in targets:
            found.append(Import(module, target, rel, node.lineno, not in_function))
    return found


ALL_IMPORTS = [imp for module, path in MODULES.items() for imp in imports_of(module, path)]


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    """True if ``name`` is one of ``prefixes`` or inside one of them."""
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def is_project(name: str) -> bool:
    """True for modules of this project (as opposed to stdlib and third-party ones)."""
    return within(name, PACKAGES)


@dataclass(frozen=True, slots=True)
class Only:
    """Modules under ``package`` import nothing but these (plus the standard library)."""

    package: str
    project: tuple[str, ...]
    third_party: tuple[str, ...] = ()

    def violations(self) -> list[str]:
        """Offending imports, described."""
        bad = []
        for imp in ALL_IMPORTS:
            if not within(imp.module, (self.package,)):
                continue
            top = imp.target.split(".")[0]
            if is_project(imp.target):
                allowed = within(imp.target, (self.package, *self.project))
            else:
                allowed = top in sys.stdlib_module_names or top in self.third_party
            if not allowed:
                may = ", ".join((self.package, *self.project, *self.third_party))
                bad.append(f"{imp} ({self.package} may import only {may} and the stdlib)")
        return bad


@dataclass(frozen=True, slots=True)
class Never:
    """Modules under ``package`` (except those under ``unless``) never import ``forbidden``."""

    package: str
    forbidden: tuple[str, ...]
    unless: tuple[str, ...] = ()

    def violations(self) -> list[str]:
        """Offending imports, described."""
        return [
            f"{imp} ({self.package} must not import {', '.join(self.forbidden)})"
            for imp in ALL_IMPORTS
            if within(imp.module, (self.package,))
            and not within(imp.module, self.unless)
            and within(imp.target, self.forbidden)
        ]


RULES: list[Only | Never] = [
    # The rules: detection is pure, the dashboard only reads, sensor is the bottom.
    Only(
        "processing.detect",
        ("processing.events", "sensor.samples"),
        ("numpy", "scipy", "imufusion"),
    ),
    # ...and the standard library's I/O and concurrency stay out of it as well.
    Never(
        "processing.detect",
        ("asyncio", "threading", "multiprocessing", "socket", "sqlite3", "subprocess", "logging"),
    ),
    Never("dashboard", ("processing.detect", "processing.live")),
    Never("sensor", ("processing", "dashboard")),
    # The package docstrings' rules.
    Only("processing.wire", ("processing.events",), ("numpy", "jsonschema", "referencing")),
    Never("processing.store", ("processing.detect", "processing.live", "processing.offline")),
    Never("processing.offline", ("processing.live", "processing.store")),
    Never("processing.live", ("processing.offline",)),
    Never("processing", ("processing.commands",), unless=("processing.commands",)),
    Never("processing", ("dashboard",), unless=("processing.commands",)),
    Only("sensor.profiles", ("sensor.samples",), ("numpy",)),
    Only("sensor.plausible", ("sensor.samples",), ("numpy",)),
    Only(
        "sensor.recording",
        ("sensor.samples", "sensor.exc", "sensor.plausible"),
        ("numpy", "pyarrow"),
    ),
    Only(
        "sensor.ble",
        ("sensor.profiles", "sensor.samples", "sensor.timebase", "sensor.exc", "sensor.plausible"),
        ("bleak", "bleak_retry_connector"),
    ),
]


def test_the_walk_sees_the_project() -> None:
    # A walk that found nothing would pass every rule below.
    assert "processing.detect.pipeline" in MODULES and "sensor.recording" in MODULES
    assert any(imp.target == "processing.detect.pipeline" for imp in ALL_IMPORTS)


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: f"{type(rule).__name__}-{rule.package}")
def test_import_rules(rule: Only | Never) -> None:
    violations = rule.violations()
    assert not violations, "\n".join(violations)


def find_cycle(edges: dict[str, list[Import]]) -> list[Import] | None:
    """Some cycle of imports in ``edges`` (module -> its imports), or None."""
    state: dict[str, str] = {}  # "active" while on the DFS path, "done" after
    path: list[Import] = []

    def visit(module: str) -> list[Import] | None:
        """Depth-first from ``module``; the cycle through the current path, if any."""
        state[module] = "active"
        for imp in edges.get(module, []):
            if state.get(imp.target) == "active":
                start = next(i for i, step in enumerate(path) if step.module == imp.target)
                return [*path[start:], imp] if path else [imp]
            if imp.target not in state:
                path.append(imp)
                cycle = visit(imp.target)
                if cycle:
                    return cycle
                path.pop()
        state[module] = "done"
        return None

    for module in sorted(edges):
        if module not in state:
            cycle = visit(module)
            if cycle:
                return cycle
    return None


def test_no_import_cycles() -> None:
    edges: dict[str, list[Import]] = {}
    for imp in ALL_IMPORTS:
        if imp.module_level and imp.target in MODULES and imp.target != imp.module:
            edges.setdefault(imp.module, []).append(imp)
    cycle = find_cycle(edges)
    assert cycle is None, "import cycle:\n" + "\n".join(str(step) for step in cycle)


def test_find_cycle_names_the_imports() -> None:
    a_b = Import("a", "b", "a.py", 1, True)
    b_c = Import("b", "c", "b.py", 2, True)
    c_b = Import("c", "b", "c.py", 3, True)
    assert find_cycle({"a": [a_b], "b": [b_c], "c": [c_b]}) == [b_c, c_b]
    assert find_cycle({"a": [a_b], "b": [b_c]}) is None


def oversize(path: Path) -> list[str]:
    """What in ``path`` breaks the size limits, described."""
    rel = str(path.relative_to(ROOT))
    text = path.read_text()
    found = []
    lines = len(text.splitlines())
    if lines > MAX_MODULE_LINES:
        found.append(f"{rel}: module of {lines} lines (limit {MAX_MODULE_LINES})")
    for node in ast.walk(ast.parse(text, rel)):
        if isinstance(node, ast.ClassDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > MAX_CLASS_LINES:
                found.append(
                    f"{rel}:{node.lineno}: class {node.name} of {length} lines "
                    f"(limit {MAX_CLASS_LINES})"
                )
    return found


def test_modules_and_classes_are_small() -> None:
    found = [problem for path in MODULES.values() for problem in oversize(path)]
    assert not found, "\n".join(found)
