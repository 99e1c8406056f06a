"""The HTML pages relief writes for people, rendered from the Jinja2 templates in templates/.

Two pages: the statewide report (report.py, ``relief report``) and a run's validation page
(validation_page.py, written into ``<warehouse>/validation/<run_id>/``). Every value a
template inserts is HTML-escaped (autoescape on for every template, markupsafe's escaping);
only markup built by a library is marked safe: matplotlib's SVG (its own text escaped by
matplotlib) and JSON through Jinja2's ``tojson``, which escapes ``<``, ``>``, ``&`` and ``'``
so a value cannot end the ``<script type="application/json">`` element it sits in. The CSS of
each page is a template too, put inline: a page opens offline with nothing to load.

The templates ship as package data of relief.jobs.audit (pyproject.toml), read with Jinja2's
PackageLoader, which also reads them from the zip ``make package`` builds for spark-submit.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("relief.jobs.audit", "templates"),
        autoescape=True,
        undefined=StrictUndefined,  # a misspelt name fails the render, not an empty cell
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    # The report's JSON block lists figures sorted, one per line (tests and auditors read it).
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "indent": 1}
    return env


def render(template: str, **context: Any) -> str:
    """The page ``template`` (a file in templates/) filled with ``context``."""
    return environment().get_template(template).render(**context)
