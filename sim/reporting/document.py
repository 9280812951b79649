"""The document model of every report, and its two writers: Markdown and HTML.

A report is a list of sections of blocks, written once as Markdown and once as HTML. Text
blocks are plain strings in which `code` and **bold** are the only markup.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim.experiments.storage import atomic_write_bytes

REPORT_MD = "report.md"
REPORT_HTML = "report.html"


@dataclass
class Table:
    frame: pd.DataFrame  # cells already formatted as text


@dataclass
class Figure:
    file: str  # relative to the report's folder
    caption: str
    captioned: bool = True  # False: the caption is only the image's alternative text


@dataclass
class Code:
    text: str


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Section:
    title: str
    blocks: list = field(default_factory=list)
    appendix: bool = False  # after the body; collapsed in the HTML version

    def add(self, block) -> Section:
        self.blocks.append(block)
        return self


@dataclass
class Document:
    title: str
    sections: list[Section] = field(default_factory=list)
    omitted: list[tuple[str, str]] = field(default_factory=list)  # (section, why)


def write_document(doc: Document, folder: Path, html_too: bool = True) -> Path:
    """report.html (unless `html_too` is false) and report.md into `folder`; report.md's path."""
    if html_too:
        atomic_write_bytes(folder / REPORT_HTML, to_html(doc).encode())
    atomic_write_bytes(folder / REPORT_MD, to_markdown(doc).encode())
    return folder / REPORT_MD


def to_markdown(doc: Document) -> str:
    """The report as Markdown (report.md): the body, what is left out, then the appendix."""
    lines = [f"# {doc.title}", ""]
    for section in _in_order(doc):
        if section is None:
            lines += ["## Not in this report", ""]
            lines += [f"- **{name}**: {why}" for name, why in doc.omitted] + [""]
            continue
        lines += [f"## {'Appendix: ' if section.appendix else ''}{section.title}", ""]
        for block in section.blocks:
            lines += _markdown_block(block)
    return "\n".join(lines)


def _markdown_block(block) -> list[str]:
    """One block's lines of Markdown, the blank line after it included."""
    if isinstance(block, str):
        return [block, ""]
    if isinstance(block, Table):
        return [_markdown_table(block.frame), ""]
    if isinstance(block, Figure):
        return [f"![{block.caption}]({block.file})", ""] + (
            [f"*{block.caption}*", ""] if block.captioned else [])
    if isinstance(block, Code):
        return ["```", block.text, "```", ""]
    if isinstance(block, Bullets):
        return [f"- {item}" for item in block.items] + [""]
    raise TypeError(f"not a block of a report: {block!r}")


def _in_order(doc: Document) -> list[Section | None]:
    """The body's sections, None where the list of what is left out goes, then the appendix."""
    body = [section for section in doc.sections if not section.appendix]
    appendix = [section for section in doc.sections if section.appendix]
    return body + ([None] if doc.omitted else []) + appendix


def _markdown_table(frame: pd.DataFrame) -> str:
    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|")

    rows = ["| " + " | ".join(cell(c) for c in frame.columns) + " |",
            "|" + "|".join("---" for _ in frame.columns) + "|"]
    rows += ["| " + " | ".join(cell(v) for v in row) + " |"
             for row in frame.itertuples(index=False)]
    return "\n".join(rows)


_INLINE = re.compile(r"`([^`]+)`|\*\*([^*]+)\*\*")


def _inline_html(text: str) -> str:
    """Backticks and double asterisks of the Markdown text as <code> and <strong>."""
    out, last = [], 0
    for match in _INLINE.finditer(text):
        out.append(html.escape(text[last:match.start()]))
        code, strong = match.groups()
        out.append(f"<code>{html.escape(code)}</code>" if code is not None
                   else f"<strong>{html.escape(strong)}</strong>")
        last = match.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 64rem;
       margin: 2rem auto; padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2.2rem;
     border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .85rem; }
th, td { border: 1px solid #ddd; padding: .25rem .5rem; text-align: right; }
th { background: #f4f4f4; } td:first-child, th:first-child { text-align: left; }
figure { margin: 1rem 0; } img { max-width: 100%; }
figcaption { font-size: .85rem; color: #555; }
pre { background: #f7f7f7; padding: .6rem; overflow-x: auto; font-size: .8rem; }
code { background: #f3f3f3; padding: 0 .2rem; }
"""


def to_html(doc: Document) -> str:
    """The report as one HTML page with its style inline (report.html); figures are linked."""
    parts = ["<!DOCTYPE html>", "<html lang=\"en\">", "<head>", "<meta charset=\"utf-8\">",
             f"<title>{html.escape(doc.title)}</title>", f"<style>{CSS}</style>", "</head>",
             "<body>", f"<h1>{html.escape(doc.title)}</h1>"]
    for section in _in_order(doc):
        if section is None:
            parts.append("<h2>Not in this report</h2><ul>")
            parts += [f"<li><strong>{html.escape(name)}</strong>: {_inline_html(why)}</li>"
                      for name, why in doc.omitted]
            parts.append("</ul>")
            continue
        if section.appendix:  # collapsed until opened
            parts.append(f"<details><summary><h2 style=\"display: inline\">Appendix: "
                         f"{html.escape(section.title)}</h2></summary>")
        else:
            parts.append(f"<h2>{html.escape(section.title)}</h2>")
        parts += [_html_block(block) for block in section.blocks]
        if section.appendix:
            parts.append("</details>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def _html_block(block) -> str:
    """One block as HTML."""
    if isinstance(block, str):
        return f"<p>{_inline_html(block)}</p>"
    if isinstance(block, Table):
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in block.frame.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{_inline_html(str(v))}</td>" for v in row) + "</tr>"
            for row in block.frame.itertuples(index=False))
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    if isinstance(block, Figure):
        caption = (f"<figcaption>{_inline_html(block.caption)}</figcaption>" if block.captioned
                   else "")
        return (f"<figure><img src=\"{html.escape(block.file)}\" "
                f"alt=\"{html.escape(block.caption)}\">{caption}</figure>")
    if isinstance(block, Code):
        return f"<pre>{html.escape(block.text)}</pre>"
    if isinstance(block, Bullets):
        return ("<ul>" + "".join(f"<li>{_inline_html(item)}</li>" for item in block.items)
                + "</ul>")
    raise TypeError(f"not a block of a report: {block!r}")
