"""QR codes drawn on the server as inline SVG: nothing to download, nothing
from a third party, and they print sharply at any size."""

from __future__ import annotations

import io

import segno
from markupsafe import Markup


def qr_svg(url: str, label: str) -> Markup:
    """An SVG QR code for ``url``, scaled by CSS, named ``label`` for screen readers."""
    code = segno.make(url, error="m", micro=False)
    out = io.BytesIO()
    # omitsize: the SVG keeps its viewBox only, so CSS sets the printed size. No
    # xmlns: inline in HTML the parser gives the namespace, and a page names no other origin.
    code.save(out, kind="svg", xmldecl=False, svgns=False, nl=False, border=2, omitsize=True,
              svgclass="qr", lineclass=None, title=None)
    svg = out.getvalue().decode("ascii")
    return Markup(svg.replace("<svg ", '<svg role="img" aria-label="{}" '.format(Markup.escape(label)), 1))
