"""The page's Jinja2 environment, low in the stack: every page, fragment and drawing renders here.

Everything the browser sees as HTML or SVG is written by a template under ``templates/``:
``index.html`` is the page skeleton and ``{% include %}``s ``regions/<name>.html``, one file per
region the page stream updates, so the first page and every later fragment come from the same
file; ``macros/`` holds the pieces the drawings share (nodes, edges, axes, legends). Python
(:mod:`app.page.draw`) computes the numbers and positions and hands them over as plain data.

Autoescape is on for every template: user text (CSV column names, mark labels) is escaped where
it is written. What a template returns is :class:`~markupsafe.Markup`, so a template that puts
an already rendered drawing into another writes it as is, without ``|safe``.

Templates are compiled once (at start, :func:`warm_up`) and never re-read: a stat of the file
for every fragment would cost frames.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from app.page import words

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIR = ROOT / "templates"
REGION_DIR = "regions"

ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
    autoescape=True,
    auto_reload=False,
)
ENV.filters["phase_ko"] = words.phase_ko  # Korean beside the phase words
TEMPLATES = Jinja2Templates(env=ENV)  # the pages' responses, from the same environment

# Compiled templates and macros by name, looked up once: the stream renders several regions
# per frame, and the environment's own lookup (a locked LRU cache) is paid each time.
_TEMPLATES: dict[str, jinja2.Template] = {}
_MACROS: dict[tuple[str, str], Callable[..., Markup]] = {}


def template(name: str) -> jinja2.Template:
    found = _TEMPLATES.get(name)
    if found is None:
        found = _TEMPLATES[name] = ENV.get_template(name)
    return found


def render(name: str, context: dict[str, Any]) -> Markup:
    """The template ``name`` (a path under ``templates/``) rendered with ``context``, without
    the whitespace around it."""
    return Markup(template(name).render(context).strip())


def region(name: str, context: dict[str, Any]) -> Markup:
    """The fragment of the page region ``name`` (``templates/regions/<name>.html``): what the
    page stream sends as the event of that name, and what ``index.html`` includes."""
    return render(f"{REGION_DIR}/{name}.html", context)


render_block = region  # the stream's name for a region's fragment


def macro(path: str, name: str) -> Callable[..., Markup]:
    """The macro ``name`` of the template ``path`` (``macros/charts.html``), callable from
    Python."""
    found = _MACROS.get((path, name))
    if found is None:
        found = _MACROS[path, name] = getattr(template(path).module, name)
    return found


def warm_up() -> None:
    """Compile the page and every region and macro file now (about 0.1 s), not while the first
    visitor or frame waits."""
    ENV.get_template("index.html")
    for folder in (REGION_DIR, "macros"):
        for path in sorted((TEMPLATE_DIR / folder).glob("*.html")):
            template(f"{folder}/{path.name}")
