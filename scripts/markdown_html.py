"""A small Markdown-to-HTML converter for the package's own docs (README.md, doc/*.md).

KLayout's help browser shows grain.xml's doc-url; it renders plain HTML, so the release turns the
Markdown docs into HTML files inside the package.  Only what our docs use is supported: ATX headings,
paragraphs, fenced code, bullet and numbered lists, pipe tables, block quotes, rules, and inline code,
bold, italic, links and images.  Standard library only.
"""

from __future__ import annotations

import html
import re

_INLINE_CODE = re.compile(r"`([^`]+)`")
_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ITALIC = re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_BULLET = re.compile(r"^(\s*)[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^(\s*)\d+[.)]\s+(.*)$")

STYLE = """body{font-family:sans-serif;max-width:60em;margin:1em auto;padding:0 1em;line-height:1.45}
code,pre{font-family:monospace;background:#f4f4f4}pre{padding:.6em;overflow:auto}
table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:.2em .5em}img{max-width:100%}
blockquote{border-left:4px solid #ccc;margin-left:0;padding-left:1em;color:#444}"""


def convert(text: str, title: str = "layertools", link_map=None) -> str:
    """The whole HTML page for Markdown ``text``.  ``link_map(url) -> url`` rewrites link targets."""
    body = "\n".join(_blocks(text.splitlines(), link_map or (lambda url: url)))
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n")


def _blocks(lines: list[str], link_map) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if not stripped:
            i += 1
        elif stripped.startswith("```"):
            code = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("```"):
                code.append(lines[i])
                i += 1
            i += 1
            out.append("<pre><code>" + html.escape("\n".join(code)) + "</code></pre>")
        elif re.match(r"^#{1,6}\s", stripped):
            level = len(stripped) - len(stripped.lstrip("#"))
            content = stripped[level:].strip().rstrip("#").strip()
            anchor = re.sub(r"[^a-z0-9]+", "-", content.lower()).strip("-")
            out.append(f"<h{level} id=\"{anchor}\">{_inline(content, link_map)}</h{level}>")
            i += 1
        elif re.match(r"^(-{3,}|\*{3,}|_{3,})$", stripped):
            out.append("<hr>")
            i += 1
        elif stripped.startswith(">"):
            quoted = []
            while i < len(lines) and lines[i].strip().startswith(">"):
                quoted.append(lines[i].strip()[1:].lstrip())
                i += 1
            out.append("<blockquote>" + "\n".join(_blocks(quoted, link_map)) + "</blockquote>")
        elif "|" in stripped and i + 1 < len(lines) and _TABLE_RULE.match(lines[i + 1]):
            header = _cells(stripped)
            rows = []
            i += 2
            while i < len(lines) and "|" in lines[i] and lines[i].strip():
                rows.append(_cells(lines[i].strip()))
                i += 1
            head = "".join(f"<th>{_inline(c, link_map)}</th>" for c in header)
            body = "".join("<tr>" + "".join(f"<td>{_inline(c, link_map)}</td>" for c in row) + "</tr>"
                           for row in rows)
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        elif _BULLET.match(line) or _NUMBERED.match(line):
            html_list, i = _list(lines, i, link_map)
            out.append(html_list)
        else:
            paragraph = []
            while i < len(lines) and lines[i].strip() and not _starts_block(lines, i):
                paragraph.append(lines[i].strip())
                i += 1
            out.append("<p>" + _inline(" ".join(paragraph), link_map) + "</p>")
    return out


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _list(lines: list[str], i: int, link_map) -> tuple[str, int]:
    """A bullet or numbered list starting at line i, with nested lists and continuation lines."""
    numbered = bool(_NUMBERED.match(lines[i])) and not _BULLET.match(lines[i])
    item_re = _NUMBERED if numbered else _BULLET
    base = _indent(lines[i])
    items: list[tuple[list[str], list[str]]] = []   # (text lines, nested lines)
    while i < len(lines):
        line = lines[i]
        match = item_re.match(line)
        if match and _indent(line) == base:
            items.append(([match.group(2)], []))
        elif not line.strip():
            following = next((l for l in lines[i + 1:] if l.strip()), "")
            if not items or not (_indent(following) > base or
                                 (item_re.match(following) and _indent(following) == base)):
                break
            items[-1][1].append("")
        elif _indent(line) > base and items:
            text, nested = items[-1]
            if not nested and not (_BULLET.match(line) or _NUMBERED.match(line)):
                text.append(line.strip())          # a wrapped line of the item's own text
            else:
                nested.append(line)
        else:
            break
        i += 1
    parts = []
    for text, nested in items:
        inner = _inline(" ".join(text), link_map)
        if any(l.strip() for l in nested):
            cut = min(_indent(l) for l in nested if l.strip())
            inner += "".join(_blocks([l[cut:] for l in nested], link_map))
        parts.append(f"<li>{inner}</li>")
    tag = "ol" if numbered else "ul"
    return f"<{tag}>" + "".join(parts) + f"</{tag}>", i


def _starts_block(lines: list[str], i: int) -> bool:
    s = lines[i].strip()
    return (s.startswith(("```", "#", ">")) or bool(_BULLET.match(lines[i]) or _NUMBERED.match(lines[i]))
            or ("|" in s and i + 1 < len(lines) and bool(_TABLE_RULE.match(lines[i + 1]))))


def _cells(row: str) -> list[str]:
    row = row.strip()
    if row.startswith("|"):
        row = row[1:]
    if row.endswith("|"):
        row = row[:-1]
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", row)]


def _inline(text: str, link_map) -> str:
    # Code spans first, kept aside so nothing inside them is interpreted.
    spans: list[str] = []

    def keep(fragment: str) -> str:
        spans.append(fragment)
        return f"\x00{len(spans) - 1}\x00"

    text = _INLINE_CODE.sub(lambda m: keep("<code>" + html.escape(m.group(1)) + "</code>"), text)
    text = _IMAGE.sub(lambda m: keep(f"<img src=\"{html.escape(link_map(m.group(2)))}\" "
                                     f"alt=\"{html.escape(m.group(1))}\">"), text)
    text = _LINK.sub(lambda m: keep(f"<a href=\"{html.escape(link_map(m.group(2)))}\">")
                     + m.group(1) + keep("</a>"), text)
    text = html.escape(text, quote=False).replace("\\|", "|")
    text = _BOLD.sub(r"<strong>\1</strong>", text)
    text = _ITALIC.sub(r"<em>\1</em>", text)
    return re.sub(r"\x00(\d+)\x00", lambda m: spans[int(m.group(1))], text)
