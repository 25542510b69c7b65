"""The page's Jinja2 environment and the one way to render its templates.

Everything the browser sees as HTML or SVG is written by a template under ``templates/``:
``index.html`` is the page skeleton and ``{% include %}``s ``regions/<name>.html``, one file per
region the page stream updates, so the first page and every later fragment come from the same
file; ``macros/`` holds the pieces the drawings share (nodes, edges, axes, legends). Python
(:mod:`app.render`) computes the numbers and positions and hands them over as plain data.

Autoescape is on for every template: user text (CSV column names, mark labels) is escaped where
it is written. What a template returns is :class:`~markupsafe.Markup`, so a template that puts
an already rendered drawing into another writes it as is, without ``|safe``.

This module sits low in the stack: it imports nothing of ``app.render`` or ``app.routes`` at
import time, so both can use it (``app.render.regions`` used to import ``app.routes.pages`` for
the environment: an upward cycle).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIR = ROOT / "templates"
REGION_DIR = "regions"


def _phase_ko(words: str) -> str:
    # The Korean phase words live beside the English ones in app/render/view.py, which imports
    # the drawings, which import this module: looked up at render time, not import time.
    from app.render.view import phase_ko

    return phase_ko(words)


# auto_reload off: a template compiles once per process; without it every render would stat
# its file (and the macros it imports) to check for edits, a cost paid in every frame.
ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
    autoescape=True,
    auto_reload=False,
)
ENV.filters["phase_ko"] = _phase_ko  # Korean beside the phase words


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
