"""The suite's own layout (issue #22.6): helpers live in tests/helpers/ (or a non-test module),
fixtures in conftest.py; no test module imports another test module or conftest.py."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_test_module_imports_another_test_module_or_conftest():
    offenders = {
        path.name: sorted(
            m for m in imported_modules(path)
            if m.startswith(("tests.test_", "tests.conftest")) or m in ("tests.conftest",)
        )
        for path in sorted(TESTS.rglob("*.py"))
    }  # fmt: skip
    assert {name: found for name, found in offenders.items() if found} == {}
