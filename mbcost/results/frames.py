"""Results as data frames and in notebooks.

Every result (an analysis, its by-type breakdown, a comparison, a sweep, a pick,
the paper's tables, a profile) gives ``records()``: one plain dict a row, with
numbers as numbers (shapes split into ints) and unique snake_case keys. From it:
``to_frame()`` (a pandas DataFrame; pandas imported there only), ``_repr_html_``
(a table in a notebook, without pandas) and a short text ``repr``.
"""

from __future__ import annotations

import html
import re


def snake(header: str) -> str:
    """A column header as a key: 'M Mult-Adds (pub.)' -> 'm_mult_adds_pub'."""
    text = header.replace("%", " pct ").replace("Δ", " delta ").replace("×", "x")
    return re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_") or "value"


def unique(keys: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for key in keys:
        seen[key] = seen.get(key, 0) + 1
        out.append(key if seen[key] == 1 else f"{key}_{seen[key]}")
    return out


class Framed:
    """Mixin: ``records()`` gives the rows; the rest follows."""

    def records(self) -> list[dict]:  # pragma: no cover - every result defines it
        raise NotImplementedError

    def to_frame(self):
        """The rows as a pandas DataFrame (pandas imported here only)."""
        import pandas as pd

        rows = self.records()
        frame = pd.DataFrame(rows)
        for key in frame.columns:  # ints with gaps (a kernel on conv rows only) stay ints: nullable Int64
            values = [r.get(key) for r in rows]
            if None in values and all(v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in values) \
                    and any(v is not None for v in values):
                frame[key] = pd.array(values, dtype="Int64")
        return frame

    def _repr_html_(self) -> str:
        rows = self.records()
        keys = list(rows[0]) if rows else []
        head = "".join(f"<th>{html.escape(k)}</th>" for k in keys)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(_text(r.get(k)))}</td>" for k in keys) + "</tr>"
                       for r in rows)
        return f"<table><caption>{html.escape(self.describe())}</caption><tr>{head}</tr>{body}</table>"

    def describe(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{self.describe()}: {len(self.records())} rows; .to_frame() for all>"


def _text(value) -> str:
    if value is None:
        return ""
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


class Rows(list, Framed):
    """A list of result rows (e.g. the by-type breakdown) that frames itself."""

    def __init__(self, items, to_record, label: str) -> None:
        super().__init__(items)
        self._to_record = to_record
        self._label = label

    def records(self) -> list[dict]:
        return [self._to_record(item) for item in self]

    def describe(self) -> str:
        return self._label

    __repr__ = Framed.__repr__
