"""A self-contained HTML page: text, tables and PNG figures embedded as base64 data URIs."""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 1400px; padding: 0 1.5em; color: #222; line-height: 1.45; }
h1 { border-bottom: 2px solid #ccc; padding-bottom: .3em; }
h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
figure { margin: 1.2em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: .9em; }
table { border-collapse: collapse; margin: .8em 0; font-size: .9em; }
th, td { border: 1px solid #ddd; padding: .25em .6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f4f4f4; }
tr.sig td { font-weight: 600; }
.notes { background: #fff8e1; border-left: 4px solid #f0b400; padding: .5em 1em; }
nav ul { columns: 3; }
"""


def anchor(text: str) -> str:
    """An id for a heading: lowercase words joined by dashes."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def png_data_uri(path: str | Path) -> str:
    """The PNG file as a `data:image/png;base64,...` URI."""
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


@dataclass
class Page:
    """An HTML page built block by block; `html()` returns the whole document."""

    title: str
    blocks: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)

    def heading(self, text: str) -> None:
        """A section heading (listed in the page's contents)."""
        self.sections.append(text)
        self.blocks.append(f'<h2 id="{anchor(text)}">{escape(text)}</h2>')

    def subheading(self, text: str) -> None:
        """A heading inside a section."""
        self.blocks.append(f"<h3>{escape(text)}</h3>")

    def paragraph(self, text: str) -> None:
        """A paragraph of plain text."""
        self.blocks.append(f"<p>{escape(text)}</p>")

    def bullets(self, items: Sequence[str], css: str = "") -> None:
        """A bulleted list of plain-text items (nothing when empty)."""
        if items:
            inner = "".join(f"<li>{escape(item)}</li>" for item in items)
            self.blocks.append(f'<ul class="{css}">{inner}</ul>' if css else f"<ul>{inner}</ul>")

    def table(
        self, header: Sequence[str], rows: Sequence[Sequence[str]], bold: Sequence[bool] = ()
    ) -> None:
        """A table of plain-text cells; rows flagged in `bold` are emphasised."""
        head = "".join(f"<th>{escape(h)}</th>" for h in header)
        body = []
        for i, row in enumerate(rows):
            cls = ' class="sig"' if i < len(bold) and bold[i] else ""
            body.append(f"<tr{cls}>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>")
        self.blocks.append(f"<table><tr>{head}</tr>{''.join(body)}</table>")

    def figure(self, path: str | Path, caption: str) -> None:
        """A PNG file embedded in the page, with its caption as alt text too."""
        self.blocks.append(
            f'<figure><img src="{png_data_uri(path)}" alt="{escape(caption)}">'
            f"<figcaption>{escape(caption)} ({escape(Path(path).name)})</figcaption></figure>"
        )

    def html(self) -> str:
        """The complete, self-contained document."""
        toc = "".join(f'<li><a href="#{anchor(s)}">{escape(s)}</a></li>' for s in self.sections)
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{escape(self.title)}</title><style>{STYLE}</style></head><body>"
            f"<h1>{escape(self.title)}</h1><nav><ul>{toc}</ul></nav>"
            + "\n".join(self.blocks)
            + "</body></html>\n"
        )
