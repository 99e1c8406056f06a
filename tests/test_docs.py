"""The README and docs/ stand on their own: every relative link resolves inside the repository,
and every `relief` command the README lists exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from relief.jobs.cli import app

REPO = Path(__file__).resolve().parent.parent
PAGES = sorted([REPO / "README.md", *(REPO / "docs").glob("*.md")])
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)  # http:, https:, mailto: …


def relative_links(page: Path) -> list[str]:
    text = page.read_text(encoding="utf-8")
    text = re.sub(r"```.*?```", "", text, flags=re.S)  # code blocks hold no links
    return [t for t in LINK.findall(text) if not EXTERNAL.match(t) and not t.startswith("#")]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_relative_link_resolves_inside_the_repository(page: Path) -> None:
    for link in relative_links(page):
        target = (page.parent / link.split("#", 1)[0]).resolve()
        assert target.is_relative_to(REPO), f"{page.name}: {link} points outside the repository"
        assert target.exists(), f"{page.name}: {link} does not exist"


def test_the_design_and_domain_pages_live_in_docs() -> None:
    for name in ("DESIGN.md", "DOMAIN.md"):
        assert (REPO / "docs" / name).is_file()
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "../shared" not in readme
    assert "(docs/DESIGN.md)" in readme and "(docs/DOMAIN.md)" in readme


def readme_commands() -> list[list[str]]:
    """The command words of every `relief …` line of the README's command list."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = text.split("## Commands", 1)[1].split("```", 2)[1]
    commands = []
    for line in block.splitlines():
        words = line.split()
        if len(words) < 2 or words[0] != "relief":
            continue
        command = [w for w in words[1:3] if re.fullmatch(r"[a-z]+", w)]
        commands.append(command)
    return commands


def test_every_command_in_the_readme_exists_with_the_options_it_shows() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = text.split("## Commands", 1)[1].split("```", 2)[1]
    commands = readme_commands()
    assert ["audit", "verify"] in commands and ["audit", "runs"] in commands
    assert ["report"] in commands
    entries = re.split(r"\n(?=relief )", block.strip())
    for command, entry in zip(commands, entries, strict=True):
        shown = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
        assert shown.exit_code == 0, (command, shown.output)
        for option in re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", entry):
            assert option in shown.output, f"relief {' '.join(command)}: {option} not in --help"
