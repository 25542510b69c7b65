"""The page's template environment, low in the stack: every page and fragment renders here.

``templates/index.html`` is the playground page; its ``{% block %}``s are also the stream's
fragments (:func:`render_block`), so the first page and every later update come from the same
markup. Templates are compiled once, at start (:func:`warm_up`), and never re-read: a stat of
the file for every fragment would cost frames.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates

from app.page import words

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = Jinja2Templates(directory=ROOT / "templates")
TEMPLATES.env.auto_reload = False
TEMPLATES.env.filters["phase_ko"] = words.phase_ko  # Korean beside the phase words


def render_block(name: str, context: dict[str, Any]) -> str:
    """One ``{% block %}`` of the page, rendered alone (a stream fragment)."""
    template = TEMPLATES.env.get_template("index.html")
    return "".join(template.blocks[name](template.new_context(context))).strip()


def warm_up() -> None:
    """Compile the page template now (about 0.1 s), not while the first visitor waits."""
    TEMPLATES.env.get_template("index.html")
