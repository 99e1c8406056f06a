"""One import namespace (issue 22.4): relief installs the package ``relief`` and nothing
else, so a user's environment gets no top-level ``jobs``, ``transforms``, ``expectations`` or
``relief_conf``. Every import and every dotted module name (python -m, entry points,
importlib.resources packages, monkeypatch targets, docs) uses ``relief.``."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BARE = ("jobs", "transforms", "expectations", "relief_conf")
CODE = ("jobs", "transforms", "expectations", "tests")
TEXTS = ("README.md", "pyproject.toml", "Makefile", ".ci/run")
# A dotted name of one of the bare packages, outside ``relief.``: a module path in a string,
# a comment or a doc. "great_expectations.core" and "relief.jobs.cli" are not.
DOTTED = re.compile(
    r"(?<![\w./-])(?:" + "|".join(BARE[:3]) + r")\.[a-z_]\w*|(?<![\w.])" + BARE[3] + r"\b"
)


def python_files() -> list[Path]:
    files = [p for top in CODE for p in sorted((REPO / top).rglob("*.py"))]
    return [p for p in files if "data" not in p.relative_to(REPO).parts]


def text_files() -> list[Path]:
    docs = sorted((REPO / "docs").glob("*.md"))
    return [p for p in (*(REPO / t for t in TEXTS), *docs) if p.is_file()]


def test_no_module_imports_a_bare_top_level_package() -> None:
    found = []
    for path in python_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            found += [
                f"{path.relative_to(REPO)}:{node.lineno}: {name}"
                for name in names
                if name.split(".")[0] in BARE
            ]
    assert not found, "import these as relief.<package>:\n" + "\n".join(found)


def test_no_dotted_module_name_outside_the_relief_namespace() -> None:
    found = []
    for path in [*python_files(), *text_files()]:
        if path == Path(__file__).resolve():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            found += [f"{path.relative_to(REPO)}:{number}: {m}" for m in DOTTED.findall(line)]
    assert not found, "name these relief.<package>...:\n" + "\n".join(found)


def test_the_installed_package_is_relief_and_the_bare_names_are_not_importable(
    tmp_path: Path,
) -> None:
    code = (
        "import importlib.util as u\n"
        "from importlib.resources import files\n"
        f"print([n for n in {BARE!r} if u.find_spec(n) is not None])\n"
        "import relief.jobs.cli, relief.transforms.columns, relief.expectations.runner\n"
        "print((files('relief.conf') / 'counties.yaml').is_file())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, check=True)  # fmt: skip
    assert done.stdout.split() == ["[]", "True"]
