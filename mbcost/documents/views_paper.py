"""``mbcost paper``: the paper's rebuilt tables (:mod:`mbcost.results.paper`, the
data and the verdicts) laid out as a :class:`~mbcost.documents.render.Document`:
which columns a narrow terminal keeps longest, each verdict as a word or two with
its explanation as a numbered note under the table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mbcost.documents.render import Column, Document, Table

if TYPE_CHECKING:  # the result type only; documents never import results' code for it
    from mbcost.results.paper import PaperTable

#: A verdict's first words, and what its cell says before the note's number.
_SHORT = (("ok", "ok"), ("matches", "explained"), ("consistent with", "explained"),
          ("several readings fit", "explained"), ("no consistent reading", "not explained"),
          ("differs", "not explained"))

_SETTINGS = ["computed: Mult-Adds of conv + fc (the paper's convention), parameters = weights;"
             " Δ = computed − published",
             "check: 'ok' when the computed figure rounds to the printed one at its printed precision;"
             " 'explained' when another reading gives it (another convention; trailing zeros not significant,"
             " read alike for every figure; a print error; a figure quoted from the network's own paper;"
             " another rounding rule only where it fits the whole table); otherwise 'not explained'."
             " The numbered notes under each table say which reading, or why none fits"]


def short_verdict(text: str) -> tuple[str, bool]:
    """A verdict as its table cell shows it ('ok', 'explained', 'not explained'),
    and whether the words need a note under the table."""
    for head, word in _SHORT:
        if text.startswith(head):
            return word, text not in ("ok", "differs: no explanation found")
    return "see note", bool(text)


def _priority(header: str, computed: bool) -> int:
    """What a narrow terminal keeps longest: the verdicts (see ``with_notes``),
    then the Mult-Adds, then the parameters; the top-1 and the differences go first.
    A table of published figures only keeps its columns alike."""
    if not computed:
        return 0
    if header.startswith("Top-1"):
        return -1
    if header.startswith("Δ"):
        return -2
    return 2 if "Mult-Adds" in header else 1 if "Params" in header else 0


def with_notes(table: PaperTable) -> Table:
    """The table as a person reads it: each verdict column (a header ending in
    'check') shows a short verdict and a note number; the words are numbered
    notes under the table, one per distinct explanation."""
    columns = [i for i, h in enumerate(table.headers) if h.lower().endswith("check")]
    notes: dict[str, int] = {}
    rows = []
    for row in table.rows:
        row = list(row)
        for i in columns:
            text = row[i] or ""
            word, needs_note = short_verdict(text)
            if needs_note:
                number = notes.setdefault(text, len(notes) + 1)
                word = f"{word} [{number}]"
            row[i] = word if text else ""
        rows.append(row)
    top1 = [i for i, h in enumerate(table.headers) if h.startswith("Top-1")]
    for i in top1:  # as printed (71.7, 77.692), decimal points aligned; not 71.70
        texts = [repr(r[i]) if isinstance(r[i], float) else "" for r in rows]
        most = max((len(t.split(".")[1]) for t in texts if "." in t), default=0)
        for r, t in zip(rows, texts):
            r[i] = t + " " * (most - len(t.split(".")[1])) if t else None
    shown = [Column(h, n, _priority(h, table.computed)) for h, n in zip(table.headers, table.numeric)]
    for i in columns:  # now a word or two: it stays on screen longest
        shown[i] = Column(table.headers[i], False, priority=9, whole=True)
    return Table(table.title, shown, rows, None, list(table.notes) + [f"[{n}] {text}" for text, n in notes.items()],
                 tidy=table.records())


def paper_document(tables: list[PaperTable]) -> Document:
    """The rebuilt tables (``results.paper.paper_tables``) as one document."""
    data = {"tables": [{"title": t.title, "columns": list(t.headers), "rows": t.rows} for t in tables]}
    return Document("MobileNet (Howard et al. 2017): published vs computed", list(_SETTINGS),
                    [with_notes(t) for t in tables], data, csv_all=True)
