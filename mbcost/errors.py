"""Errors that are the user's to fix.

Every error a user can cause is an :class:`MbcostError`. The CLI prints it as one
line (plus, for a spec, the offending source line with a caret under the spot) and
exits with code 2; it never shows a traceback. Anything else is a bug in mbcost.
"""

from __future__ import annotations

EXIT_USER_ERROR = 2


def input_file(path, what: str):
    """``path`` as a Path when it is a regular file; else one line saying what it
    is instead: a folder, nothing, or a device, pipe or socket (``what``: "spec
    file", "ONNX file", ...)."""
    from pathlib import Path

    file = Path(path)
    if file.is_dir():
        raise MbcostError(f"{path} is a folder, not a{'n' if what[0] in 'AEIOU' else ''} {what}")
    if not file.exists():
        raise MbcostError(f"no such {what}: {path}")
    if not file.is_file():
        raise MbcostError(f"{path} is not a regular file (a device, pipe or socket), not a"
                          f"{'n' if what[0] in 'AEIOU' else ''} {what}")
    return file


def one_line(exc: BaseException) -> str:
    """An exception raised by someone else's code (a user's model, an exporter)
    as one short line: its class and message, whitespace folded, at most 300 characters."""
    text = " ".join(str(exc).split())
    if len(text) > 300:
        text = text[:297] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class MbcostError(Exception):
    """A user error: bad option, unknown model, unwritable path, bad spec."""

    def detail(self) -> str:
        """Extra lines shown under the one-line message (empty by default)."""
        return ""


class SpecError(MbcostError):
    """An error located in a spec: ``file:line:col: message`` and a caret."""

    def __init__(
        self,
        message: str,
        *,
        source: str = "<spec>",
        line: int | None = None,
        col: int | None = None,
        text: str | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.line = line
        self.col = col
        self.text = text
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.source
        if self.line is not None:
            where += f":{self.line}"
            if self.col is not None:
                where += f":{self.col}"
        return f"{where}: {self.message}"

    def detail(self) -> str:
        """The source line with a caret under the column: at most a readable slice
        (``SLICE`` characters around the column) of a long line, control and other
        invisible characters shown escaped."""
        if self.text is None or self.col is None:
            return ""
        text = self.text.rstrip("\n")
        col = max(1, min(self.col, len(text) + 1)) - 1  # 0-based
        start = max(0, min(col - SLICE // 2, len(text) - SLICE))
        end = min(len(text), start + SLICE)
        shown, caret = "…" if start else "", 1 if start else 0
        for i, ch in enumerate(text[start:end], start):
            piece = " " if ch == "\t" else (ch if ch.isprintable() else repr(ch)[1:-1])
            if i < col:
                caret += len(piece)
            shown += piece
        if end < len(text):
            shown += "…"
        return f"    {shown}\n    {' ' * caret}^"


#: How many characters of a source line an error quotes around its column.
SLICE = 100
