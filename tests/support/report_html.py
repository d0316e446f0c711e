"""Reads a report's HTML back the way a person would: text, tables (rows of cell text), notes, images."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path


@dataclass
class ParsedReport:
    text: str = ""
    tables: dict[str, list[list[str]]] = field(default_factory=dict)  # class -> rows (header first)
    all_tables: list[tuple[str, list[list[str]]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)  # src attributes
    headings: list[str] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.r = ParsedReport()
        self._chunks: list[str] = []
        self._table: list[list[str]] | None = None
        self._table_cls = ""
        self._cell: list[str] | None = None
        self._capture: list[tuple[str, str, list[str]]] = []  # (tag, kind, buffer)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self._table, self._table_cls = [], a.get("class", "")
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "img":
            self.r.images.append(a.get("src", ""))
        if tag == "p" and a.get("class") == "note":
            self._capture.append((tag, "note", []))
        elif tag in ("h1", "h2"):
            self._capture.append((tag, "heading", []))
        elif "id" in a:
            self._capture.append((tag, "id:" + a["id"], []))

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._table:
            self._table[-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table" and self._table is not None:
            self.r.tables.setdefault(self._table_cls, self._table)
            self.r.all_tables.append((self._table_cls, self._table))
            self._table = None
        if self._capture and self._capture[-1][0] == tag:
            _, kind, buf = self._capture.pop()
            text = "".join(buf).strip()
            if kind == "note":
                self.r.notes.append(text)
            elif kind == "heading":
                self.r.headings.append(text)
            else:
                self.r.ids[kind[3:]] = text

    def handle_data(self, data):
        self._chunks.append(data)
        if self._cell is not None:
            self._cell.append(data)
        for _, _, buf in self._capture:
            buf.append(data)


def parse_report(path: Path) -> ParsedReport:
    p = _Parser()
    p.feed(Path(path).read_text())
    p.r.text = " ".join(" ".join(p._chunks).split())
    return p.r
