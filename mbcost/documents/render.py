"""Formats: one document model, rendered as rich, plain text, CSV, JSON, Markdown
or LaTeX. Commands build a :class:`Document` (tables of typed cells plus the JSON
data); this module knows nothing of networks. Rich is imported only to render.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field

from mbcost.errors import MbcostError
from mbcost.numbers import safe_float, scaled
from mbcost.results.frames import Framed, snake, unique

FORMATS = ("rich", "csv", "json", "markdown", "latex")
#: What --output's extension selects (plain text for .txt).
_EXTENSIONS = {".csv": "csv", ".json": "json", ".md": "markdown", ".markdown": "markdown", ".tex": "latex",
               ".txt": "rich"}


@dataclass
class Column:
    header: str
    numeric: bool = False
    #: On a terminal too narrow for the table, columns of lower priority are left
    #: out first (the first column never is).
    priority: int = 0
    #: The fewest characters the column is readable in (for fitting a narrow terminal): a
    #: ``shorten`` column is never narrower (a whole or numeric column is as wide as its cells).
    min_width: int = 0
    #: Cells that never fold (as the first column's): a model name, a filter shape, a
    #: formula stays on one line, so a row of the table is one line on a terminal.
    whole: bool = False
    #: On a terminal too narrow for its longest cells, the column shortens them in the
    #: middle with an ellipsis (a torch module's dotted path), down to ``min_width``;
    #: every other format (plain text in a pipe, CSV, JSON) keeps them whole.
    shorten: bool = False


@dataclass(repr=False)
class Table(Framed):
    title: str
    columns: list[Column]
    rows: list[list] = field(default_factory=list)
    footer: list | None = None
    notes: list[str] = field(default_factory=list)
    #: The rows for machines (CSV, ``to_frame()``), where the shown cells are not
    #: already plain values: shapes split into ints, ratios as floats.
    tidy: list[dict] | None = None

    def records(self) -> list[dict]:
        """The tidy rows if given, else one dict per shown row, keyed by the
        headers in snake_case (made unique)."""
        if self.tidy is not None:
            return self.tidy
        keys = unique([snake(c.header) for c in self.columns])
        return [dict(zip(keys, row)) for row in self.rows]

    def describe(self) -> str:
        return self.title or "Table"


@dataclass
class Document:
    """What a command outputs: a heading, settings lines, tables, and the JSON data."""

    heading: str
    settings: list[str]
    tables: list[Table]
    data: dict
    summary: list[str] = field(default_factory=list)
    csv_all: bool = False  # CSV: the rows of every table (a 'table' column first), not only the first
    #: The CSV's rows where they are none of the tables' (check: every layer of every configuration)
    csv_rows: list[dict] | None = None

    def records(self) -> list[dict]:
        """The CSV's rows: ``csv_rows``, else the first table's records, or for
        ``csv_all`` every table's, each row led by its table's title."""
        if self.csv_rows is not None:
            return self.csv_rows
        if not self.csv_all:
            return self.tables[0].records() if self.tables else []
        return [{"table": t.title, **r} for t in self.tables for r in t.records()]


def choose_format(fmt: str | None, output: str | None) -> str:
    """The format asked for, else the output file's extension, else rich."""
    if fmt is not None:
        fmt = fmt.lower()
        if fmt not in FORMATS:
            raise MbcostError(f"unknown format '{fmt}': choose from {', '.join(FORMATS)}")
        return fmt
    if output:
        for ext, name in _EXTENSIONS.items():
            if output.lower().endswith(ext):
                return name
        import os

        if os.path.isdir(output):
            raise MbcostError(f"cannot write {output}: it is a directory")
        if not output.startswith("/dev/"):  # a device (/dev/stdout) takes the terminal's format
            raise MbcostError(f"cannot tell the format of {output} from its extension: use "
                              f"{', '.join(_EXTENSIONS)}, or give --format ({', '.join(FORMATS)})")
    return "rich"


#: Prefixes for counts people read: 10^3 K, 10^6 M, 10^9 G, 10^12 T.
_PREFIXES = ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K"))


def human(n: int, digits: int = 2) -> str:
    """A count scaled per value, for people: 4,064 -> '4.06 K', 568,740,352 ->
    '568.74 M', 15,470,264,320 -> '15.47 G'; below 1,000 the number itself.
    (Exact integers stay in the per-layer columns and every machine format.)"""
    for scale, prefix in _PREFIXES:
        if abs(n) >= scale:
            return f"{scaled(n, scale, digits)} {prefix}"
    return f"{n:,}"


def json_number(value):
    """A ratio for JSON: a float, or where it is too large for one its decimal
    text (JSON has no infinity)."""
    from decimal import Context, Decimal
    from fractions import Fraction

    number = safe_float(value)
    if number not in (float("inf"), float("-inf")):
        return number
    value = Fraction(value)
    return f"{Context(prec=17).divide(Decimal(value.numerator), Decimal(value.denominator)):e}"


def cell(value, human: bool = True) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}" if human else str(value)
    if isinstance(value, float):
        text = f"{value:,.2f}" if human else f"{value:.2f}"  # thousands separated, as the integers are
        return "0.00" if text == "-0.00" else text
    return str(value)


def render_text(doc: Document, fmt: str, comments: bool = False) -> str:
    """Render to a string in a non-interactive format (``comments``: CSV with the
    heading and settings as leading '#' lines)."""
    if fmt == "json":
        return strict_json(doc.data)
    if fmt == "csv":
        return _csv(doc, comments)
    if fmt == "markdown":
        return _markdown(doc)
    if fmt == "latex":
        return _latex(doc)
    return _plain(doc)



def strict_json(data, **options) -> str:
    """``data`` as strict JSON (``allow_nan=False``: never ``Infinity`` or ``NaN``,
    which JSON does not have); a value that is not a finite number is refused in
    one line naming where it is."""
    try:
        return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False, **options) + "\n"
    except ValueError:
        raise MbcostError(f"cannot write JSON: {_not_finite_at(data) or 'a value'} is not a finite number") from None


def _not_finite_at(data, where: str = "") -> str:
    """The path of the first float in ``data`` that is not finite ("" if none)."""
    if isinstance(data, float) and not math.isfinite(data):
        return where or "the value"
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, (list, tuple)) else ()
    for key, value in items:
        found = _not_finite_at(value, f"{where}[{key}]" if isinstance(key, int) else f"{where}.{key}".lstrip("."))
        if found:
            return found
    return ""

def csv_columns(rows: list[dict]) -> list[str]:
    """Every key of the rows, in first-seen order (tables of a ``csv_all``
    document may have different columns)."""
    keys: dict[str, None] = {}
    for row in rows:
        keys.update(dict.fromkeys(row))
    return list(keys)


def csv_value(value) -> str:
    """A plain value for CSV: integers in full, floats in their shortest exact
    form, True/False, empty for none; never a thousands separator or a unit."""
    from fractions import Fraction

    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Fraction):
        value = safe_float(value)
    if isinstance(value, float):
        return repr(value) if value == value else ""  # inf stays 'inf' (pandas reads it); NaN is empty
    return str(value)


def _csv(doc: Document, comments: bool = False) -> str:
    """Tidy CSV: one header row (unique snake_case names), one row per record,
    numbers as plain numbers. No total row (the JSON has the totals); with
    ``comments`` the heading and settings come first as '#' lines (pandas:
    ``read_csv(path, comment='#')``)."""
    buf = io.StringIO()
    if comments:
        for line in [doc.heading] + doc.settings:
            buf.write(f"# {line}\n")
    rows = doc.records()
    columns = csv_columns(rows)
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_value(row.get(k)) for k in columns])
    return buf.getvalue()


def csv_metadata(doc: Document, csv_name: str) -> dict:
    """The CSV's conventions as a W3C CSV-on-the-Web metadata document (the
    sidecar ``NAME.csv-metadata.json``): title, settings, column names and types."""
    rows = doc.records()
    columns = []
    for key in csv_columns(rows):
        values = [r.get(key) for r in rows if r.get(key) is not None]
        if values and all(isinstance(v, bool) for v in values):
            kind = "boolean"
        elif values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            kind = "integer"
        elif values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            kind = "double"
        else:
            kind = "string"
        columns.append({"name": key, "titles": key, "datatype": kind})
    return {"@context": "http://www.w3.org/ns/csvw", "url": csv_name, "dc:title": doc.heading,
            "dc:description": doc.settings, "tableSchema": {"columns": columns}}


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def _markdown(doc: Document) -> str:
    out = [f"## {doc.heading}", ""]
    out += [f"- {s}" for s in doc.settings]
    out.append("")
    for table in doc.tables:
        if table.title:
            out += [f"### {table.title}", ""]
        out.append("| " + " | ".join(_md_escape(c.header) for c in table.columns) + " |")
        out.append("|" + "|".join("---:" if c.numeric else "---" for c in table.columns) + "|")
        rows = table.rows + ([table.footer] if table.footer else [])
        for i, row in enumerate(rows):
            cells = [_md_escape(cell(v)) for v in row]
            if table.footer and i == len(rows) - 1:
                cells = [f"**{c}**" if c else c for c in cells]
            out.append("| " + " | ".join(cells) + " |")
        out += [""] + [line for n in table.notes for line in (n, "")]  # a paragraph each
    out += [s for s in doc.summary] + ([""] if doc.summary else [])
    return "\n".join(out).rstrip("\n") + "\n"


_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                  "×": r"$\times$", "·": r"$\cdot$", "α": r"$\alpha$", "ρ": r"$\rho$"}


def _tex(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def _latex(doc: Document) -> str:
    out = [f"% {_tex(doc.heading)}"] + [f"% {_tex(s)}" for s in doc.settings]
    for table in doc.tables:
        spec = "".join("r" if c.numeric else "l" for c in table.columns)
        out += ["\\begin{table}[t]", "\\centering"]
        if table.title:
            out.append(f"\\caption{{{_tex(table.title)}}}")
        out += [f"\\begin{{tabular}}{{{spec}}}", "\\toprule",
                " & ".join(_tex(c.header) for c in table.columns) + " \\\\", "\\midrule"]
        for row in table.rows:
            out.append(" & ".join(_tex(cell(v)) for v in row) + " \\\\")
        if table.footer:
            out += ["\\midrule", " & ".join(_tex(cell(v)) for v in table.footer) + " \\\\"]
        out += ["\\bottomrule", "\\end{tabular}", "\\end{table}"]
    return "\n".join(out) + "\n"


def _least_width(table: Table, cells: list[list[str]], i: int, width: int = 10**6) -> int:
    """The narrowest a column can be with nothing cut: numbers and names whole,
    headers and prose folded between words. A whole text column wider than a third
    of the terminal (a 97-character attention formula) folds between its words (a
    formula's terms), never inside one, rather than leave every other column out."""
    col = table.columns[i]
    header_words = [len(w) for w in col.header.split()]
    if col.shorten:
        return max([col.min_width] + header_words + [1])
    if col.numeric or col.whole or i == 0:
        least = max([len(r[i]) for r in cells] + header_words + [1])
        if col.numeric or i == 0 or least <= width // 3:
            return least
        return max([width // 3] + [len(w) for r in cells for w in r[i].split()])
    # prose folds (inside long words too, never cut): as narrow as its longest word, at most 12;
    # but a number or a formula (a word without letters: 3·3·64·128·112·112) never splits
    words = [w for t in [col.header] + [r[i] for r in cells] for w in t.split()]
    whole = max([len(w) for w in words if not any(ch.isalpha() for ch in w)] + [1])
    return max(whole, min(12, max([len(w) for w in words] + [1])))


def _widths(table: Table, cells: list[list[str]], keep: list[int], width: int) -> dict[int, int]:
    """Column widths for a table wider than the terminal (empty when it fits):
    each column at its narrowest (:func:`_least_width`), then the room left given
    back to the columns up to their natural width, first column first."""
    natural = {i: max([len(table.columns[i].header)] + [len(r[i]) for r in cells]) for i in keep}
    overhead = 3 * len(keep) + 1
    if sum(natural.values()) + overhead <= width:
        return {}
    out = {i: _least_width(table, cells, i, width) for i in keep}
    room = width - overhead - sum(out.values())
    prose = [i for i in keep if i != keep[0] and not table.columns[i].numeric and not table.columns[i].whole]
    for i in [i for i in keep if i not in prose] + prose:  # headers of numbers whole first, then prose
        share = max(room, 0) // max(1, len(prose)) if i in prose and len(prose) > 1 and i != prose[-1] else room
        extra = min(max(share, 0), natural[i] - out[i])
        out[i] += extra
        room -= extra
    return out


def _fitted(table: Table, width: int) -> tuple[list[int], list[str]]:
    """Which columns to show at a terminal ``width`` so that nothing is cut:
    numbers and the first column (names) never wrap, other text folds at word
    boundaries; when even that does not fit, the rightmost text columns, then the
    rightmost numeric ones, are left out (never the first). A whole text column
    that would fold (a formula wider than a third of the terminal) stays on one
    line where leaving out only columns of lower priority than its own makes room:
    a row of ``table --formula`` is one line. Returns the indices kept and the
    headers left out."""
    cells = [[cell(v) for v in row] for row in table.rows] + ([[cell(v) for v in table.footer]] if table.footer else [])

    def least(i: int, fold: bool) -> int:
        return _least_width(table, cells, i, width if fold else 10**6)

    def need(cols: list[int], whole_names: bool, fold: bool) -> int:  # with padding and a rule per column
        return sum((max(len(r[i]) for r in cells) if whole_names and table.columns[i].shorten else least(i, fold)) + 3
                   for i in cols) + 1

    # lowest priority first; among equals prose before numbers, the rightmost first
    order = sorted(range(1, len(table.columns)), key=lambda i: (table.columns[i].priority, table.columns[i].numeric, -i))

    def fit(fold: bool) -> tuple[list[int], list[int], bool]:
        keep, dropped = list(range(len(table.columns))), []
        for i in order:
            # a name is shortened (a ``shorten`` column) only rather than leave out a column of priority 1 or more
            if need(keep, table.columns[i].priority <= 0, fold) <= width:
                return keep, dropped, True
            keep.remove(i)
            dropped.append(i)
        return keep, dropped, need(keep, False, fold) <= width

    keep, dropped, _ = fit(fold=True)
    folding = [i for i in keep if least(i, True) < least(i, False)]
    if folding:
        whole_keep, whole_dropped, fits = fit(fold=False)
        lowest = min(table.columns[i].priority for i in folding)
        if fits and all(i in whole_keep for i in folding) and all(
                table.columns[i].priority < lowest for i in whole_dropped if i not in dropped):
            keep, dropped = whole_keep, whole_dropped
    return keep, [table.columns[i].header for i in dropped]


def middle_shortened(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters: its start and end kept, the middle
    replaced by an ellipsis (``_blocks.10._depthwise_conv``, 20 -> ``_blocks.10…wise_conv``);
    leading spaces (a depth's indentation) are kept."""
    if len(text) <= width:
        return text
    body = text.lstrip(" ")
    indent = text[:len(text) - len(body)]
    room = max(width - len(indent) - 1, 2)
    head = (room + 1) // 2
    return indent + body[:head] + "\u2026" + body[len(body) - (room - head):]


def _rich_renderables(doc: Document, width: int = 10**6):
    from rich.table import Table as RichTable
    from rich.text import Text

    items = [Text(doc.heading, style="bold")]
    items += [Text(s, style="dim") for s in doc.settings]
    for table in doc.tables:
        keep, dropped = _fitted(table, width)
        cells = [[cell(v) for v in row] for row in table.rows] + (
            [[cell(v) for v in table.footer]] if table.footer else [])
        widths = _widths(table, cells, keep, width)
        rt = RichTable(title=table.title or None, title_justify="left", title_style="bold",
                       show_footer=table.footer is not None, header_style="bold", footer_style="bold")
        for i in keep:
            col = table.columns[i]
            footer = cell(table.footer[i]) if table.footer else ""
            rt.add_column(col.header, justify="right" if col.numeric else "left", footer=footer,
                          overflow="fold", width=widths.get(i))
        for row in table.rows:
            rt.add_row(*(middle_shortened(cell(row[i]), widths[i]) if table.columns[i].shorten and i in widths
                         else cell(row[i]) for i in keep))
        items.append(rt)
        items += [Text(n, style="dim") for n in table.notes]
        if dropped:
            items.append(Text(f"left out to fit {width} columns: {', '.join(dropped)} (a wider terminal, or "
                              "--format csv/json/markdown, shows every column)", style="dim"))
    items += [Text(s) for s in doc.summary]
    return items


def _plain(doc: Document) -> str:
    """Plain text: aligned columns, no escape codes (what ``rich`` gives when not
    on a terminal; rich itself is not imported)."""
    out = [doc.heading] + doc.settings
    for table in doc.tables:
        rows = [[cell(v) for v in row] for row in table.rows]
        footer = [cell(v) for v in table.footer] if table.footer else None
        headers = [c.header for c in table.columns]
        widths = [max(len(x) for x in col) for col in zip(headers, *rows, *([footer] if footer else []))]

        def line(cells: list[str]) -> str:
            return "  ".join(
                c.rjust(w) if col.numeric else c.ljust(w) for c, w, col in zip(cells, widths, table.columns)
            ).rstrip()

        rule = "  ".join("-" * w for w in widths)
        out += [""] + ([table.title] if table.title else []) + [line(headers), rule]
        out += [line(r) for r in rows]
        if footer:
            out += [rule, line(footer)]
        out += table.notes
    if doc.summary:
        out += [""] + doc.summary
    return "\n".join(out) + "\n"


def print_rich(doc: Document) -> None:
    """Print to the terminal with rich (colours unless NO_COLOR is set); plain
    text when standard output is not a terminal."""
    import sys

    if not sys.stdout.isatty():
        sys.stdout.write(_plain(doc))
        return
    from rich.console import Console

    console = Console(highlight=False)
    for item in _rich_renderables(doc, console.width):
        console.print(item)


def terminal_text(doc: Document, width: int) -> str:
    """What :func:`print_rich` shows on a terminal ``width`` columns wide, as plain
    text (no colours): for tests and for measuring how long a document reads."""
    from rich.console import Console

    console = Console(file=io.StringIO(), width=width, color_system=None, highlight=False, force_terminal=False)
    for item in _rich_renderables(doc, width):
        console.print(item)
    return console.file.getvalue()
