"""The page's Jinja2 environment, low in the stack: every page, fragment and drawing renders here.

Everything the browser sees as HTML or SVG is written by a template under ``templates/``:
``index.html`` is the page skeleton and ``{% include %}``s ``regions/<name>.html``, one file per
region the page stream updates, so the first page and every later fragment come from the same
file; ``macros/`` holds the pieces the drawings share (nodes, edges, axes, legends). Python
(:mod:`app.page.draw`) computes the numbers and positions and hands them over as plain data.

Autoescape is on for every template: user text (CSV column names, mark labels) is escaped where
it is written. What a template returns is :class:`~markupsafe.Markup`, so a template that puts
an already rendered drawing into another writes it as is, without ``|safe``.

Every template is rendered in one language (app/page/i18n.py): ``lang`` in its context
(``"ko"`` or ``"en"``), and ``_()``, ``gettext``, ``ngettext`` and ``pgettext`` (jinja2.ext.i18n,
new style: ``_("%(n)s epochs", n=3)`` formats and escapes) translate into it. What renders
without a ``lang`` of its own (a macro called from Python, a region the stream renders) takes
the language of the render under way, :data:`app.page.i18n.CURRENT`, which
:func:`app.page.i18n.using` sets; :func:`render` passes it on as ``lang``. The filter
``josa`` adds a Korean particle: ``{{ value|josa("은/는") }}``.

Templates are compiled once (at start, :func:`warm_up`) and never re-read: a stat of the file
for every fragment would cost frames.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from starlette.requests import Request

from app.page import i18n, names, script_words, words

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIR = ROOT / "templates"
REGION_DIR = "regions"

ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
    autoescape=True,
    auto_reload=False,
    extensions=["jinja2.ext.i18n"],
)


def _lang(context: Any) -> str:
    lang = context.get("lang") if context is not None else None
    return lang if lang in i18n.LANGS else i18n.CURRENT.get()


@jinja2.pass_context
def _t_gettext(context: Any, message: str) -> str:
    return i18n.translations(_lang(context)).gettext(message)


@jinja2.pass_context
def _t_ngettext(context: Any, singular: str, plural: str, n: int) -> str:
    return i18n.translations(_lang(context)).ngettext(singular, plural, n)


@jinja2.pass_context
def _t_pgettext(context: Any, ctx: str, message: str) -> str:
    return i18n.translations(_lang(context)).pgettext(ctx, message)


@jinja2.pass_context
def _t_npgettext(context: Any, ctx: str, singular: str, plural: str, n: int) -> str:
    return i18n.translations(_lang(context)).npgettext(ctx, singular, plural, n)


ENV.install_gettext_callables(  # type: ignore[attr-defined]
    _t_gettext, _t_ngettext, newstyle=True, pgettext=_t_pgettext, npgettext=_t_npgettext
)
ENV.filters["josa"] = i18n.josa
ENV.globals["phase_words"] = words.phase_text  # "forward · layer 2" in the page's language
ENV.globals["page_words"] = script_words.words  # the words the page's scripts show
ENV.globals["layer_words"] = words.layer_text  # "layer 2" → "은닉층 2"
for _name in (
    "dataset_name", "dataset_doc", "task_name", "param_name", "option_name", "status_name",
    "quantity_words", "verdict",
):  # the engine's names as the page says them
    ENV.globals[_name] = getattr(names, _name)
ENV.globals["Markup"] = Markup  # markup put into a translated sentence: <b id=…>%s</b>
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
    if "lang" not in context:
        return Markup(template(name).render(context, lang=i18n.CURRENT.get()).strip())
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


def _relative(request: Request, lang: str) -> str:
    """This page's path and query with ``lang`` set (the language switch's links)."""
    url = request.url.include_query_params(lang=lang)
    return f"{url.path}?{url.query}"


def page(
    request: Request, name: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    """A page (``index.html``, ``race.html``, ``docs.html``…) in the request's language
    (:func:`app.page.i18n.request_lang`, unless ``context`` names ``lang``), not cached; a
    ``?lang=`` the request chose is kept in the ``lang`` cookie."""
    lang = context.setdefault("lang", i18n.request_lang(request))
    context.setdefault(
        "lang_urls",
        {code: _relative(request, code) for code in i18n.LANGS},
    )
    with i18n.using(lang):
        response = TEMPLATES.TemplateResponse(request, name, context, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    i18n.remember(request, response)
    return response


def warm_up() -> None:
    """Compile the page and every region and macro file now (about 0.1 s), not while the first
    visitor or frame waits."""
    ENV.get_template("index.html")
    for folder in (REGION_DIR, "macros"):
        for path in sorted((TEMPLATE_DIR / folder).glob("*.html")):
            template(f"{folder}/{path.name}")
