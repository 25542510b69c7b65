"""Text contrast as WCAG 2.1 defines it, measured on the rendered page.

For every visible piece of text (an HTML element's own text nodes, an SVG ``<text>``) the
script takes the colour it is drawn in (``color``, or ``fill`` in SVG, with its alpha and the
element's and its ancestors' opacity) and the background it is drawn on (the nearest ancestor
with a background colour, composited over white), and computes

    ratio = (L_lighter + 0.05) / (L_darker + 0.05),

L the relative luminance of sRGB colours (WCAG 2.1, "relative luminance"). AA asks 4.5:1,
3:1 for large text (≥ 24 px, or ≥ 18.66 px bold). Disabled controls are exempt (WCAG 1.4.3),
and so is text over a picture (the heatmaps), which this cannot measure.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

LOW_CONTRAST_JS = r"""(root) => {
  const parse = (s) => {
    const m = s.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, under) => {  // top composited over an opaque colour
    const a = top[3];
    return [0, 1, 2].map((i) => top[i] * a + under[i] * (1 - a)).concat([1]);
  };
  const lum = (c) => {
    const ch = c.slice(0, 3).map((v) => { v /= 255;
      return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2];
  };
  const background = (el) => {
    const layers = [];
    for (let e = el; e && e.nodeType === 1; e = e.parentElement) {
      const bg = parse(getComputedStyle(e).backgroundColor);
      if (bg && bg[3] > 0) { layers.push(bg); if (bg[3] >= 1) break; }
    }
    let c = [255, 255, 255, 1];
    for (let i = layers.length - 1; i >= 0; i--) c = over(layers[i], c);
    return c;
  };
  const opacity = (el) => {
    let o = 1;
    for (let e = el; e && e.nodeType === 1; e = e.parentElement)
      o *= parseFloat(getComputedStyle(e).opacity || '1');
    return o;
  };
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none';
  };
  const bad = [];
  const scope = document.querySelector(root) || document.body;
  for (const el of scope.querySelectorAll('*')) {
    const svgText = el.namespaceURI === 'http://www.w3.org/2000/svg' && el.tagName === 'text';
    const own = svgText ? el.textContent.trim()
      : Array.from(el.childNodes).filter((n) => n.nodeType === 3)
        .map((n) => n.textContent).join('').trim();
    if (!own || !shown(el)) continue;
    const exempt = 'button:disabled, select:disabled, input:disabled, option, script, title';
    if (el.closest(exempt)) continue;
    const s = getComputedStyle(el);
    let fg = parse(svgText ? s.fill : s.color);
    if (!fg) continue;
    const bg = background(el);
    fg = over([fg[0], fg[1], fg[2], fg[3] * opacity(el)], bg);
    const [a, b] = [lum(fg), lum(bg)];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(s.fontSize) * (svgText ? el.getScreenCTM().a : 1);
    const large = size >= 24 || (size >= 18.66 && parseInt(s.fontWeight, 10) >= 700);
    if (ratio < (large ? 3 : 4.5) - 0.005)
      bad.push({text: own.slice(0, 40), ratio: Math.round(ratio * 100) / 100,
                fg: fg.slice(0, 3).map(Math.round).join(','), bg: bg.slice(0, 3).join(','),
                where: (el.id ? '#' + el.id : el.tagName.toLowerCase()) +
                  (el.className && el.className.baseVal === undefined ? '.' + el.className : '')});
  }
  return bad;
}"""


def low_contrast(page: Page, root: str = "body") -> list[dict[str, Any]]:
    """The visible texts under ``root`` below WCAG AA contrast (see the module docstring)."""
    return list(page.evaluate(LOW_CONTRAST_JS, root))
