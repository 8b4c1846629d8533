"""Tokens of the layer-spec language.

The language is line oriented: one statement a line, ``#`` starts a comment,
``{`` ... ``}`` group statements over several lines. The lexer turns a whole spec
into a flat list of tokens with 1-based line and column, NEWLINE tokens between
lines, so that the parser can report ``file:line:col`` for anything it rejects.

Dimensions are written as the paper prints them: ``3x3x32`` or ``3 × 3 × 32``
(``x``, ``X`` or ``×``); a count followed by ``x`` and no digit (``5x``, ``5×``)
is a repetition.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mbcost.errors import SpecError
from mbcost.numbers import MAX_DIGITS, is_ascii_digits

#: The longest spec read, in characters: a 20,000-row network (MAX_LAYERS) at
#: 100 characters a row. Refused before anything is tokenized.
MAX_SPEC_CHARS = 2_000_000
#: The longest line: far past any statement (a one-line ``add { ... }`` of a few
#: branches is a few hundred characters). Refused before the line is tokenized.
MAX_LINE_CHARS = 10_000

_TIMES = "[x×X]"
# One dimension: a number, "?" (inferred: the channels that come in), or a block
# parameter "{name}".
_DIM = r"(?:\d+|\?|\{[A-Za-z_][A-Za-z0-9_]*\})"
_TOKEN_RE = re.compile(
    rf"""
    (?P<space>[ \t\r\f\v]+)
  | (?P<comment>\#.*)
  | (?P<dims>{_DIM}(?:[ \t]*{_TIMES}[ \t]*{_DIM})+)
  | (?P<param>\{{[A-Za-z_][A-Za-z0-9_]*\}})
  | (?P<repeat>\d+[ \t]*{_TIMES}(?![ \t]*\d)(?![A-Za-z0-9_]))
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<option>[A-Za-z_][A-Za-z0-9_]*=(?:[^\s\#{{}}()@,]|\{{[A-Za-z_][A-Za-z0-9_]*\}})*)
  | (?P<word>[A-Za-z_][A-Za-z0-9_.\-]*)
  | (?P<punct>[/@:{{}}(),+])
    """,
    re.VERBOSE | re.ASCII,
)
_SPLIT_DIMS = re.compile(rf"[ \t]*{_TIMES}[ \t]*")

#: Statements whose rest of line is free text (kept verbatim).
TEXT_HEADERS = frozenset({"description"})


@dataclass(frozen=True)
class Token:
    kind: str  # dims, repeat, number, option, word, param, punct, text, newline, eof
    value: object
    line: int
    col: int
    text: str  # the token as written

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Token({self.kind}, {self.text!r}, {self.line}:{self.col})"


#: What ends a line: only these (``str.splitlines`` also splits on form feed,
#: \x1c-\x1e, \x85, \u2028 and \u2029, which editors and error carets do not treat
#: as line ends; inside a line they are white space or an error, never a shift of
#: every later line number).
_LINE_END = re.compile(r"\r\n|\r|\n")
_DIGITS = re.compile(r"[0-9]+")


def _dim(text: str):
    """A dimension: an int, "?" (inferred), or a ``Param`` name."""
    if is_ascii_digits(text):
        return int(text)
    if text == "?":
        return "?"
    return Param(text[1:-1])


class Param(str):
    """A block parameter inside dimensions, ``{name}``; substituted at each call."""

    __slots__ = ()


class Lexer:
    """Splits a spec's text into tokens; keeps the lines for error carets."""

    def __init__(self, text: str, source: str = "<spec>") -> None:
        self.source = source
        if text.startswith("\ufeff"):
            text = text[1:]  # a UTF-8 byte-order mark, as some editors write
        if len(text) > MAX_SPEC_CHARS:
            self.lines = []
            raise SpecError(f"the spec has {len(text):,} characters; at most {MAX_SPEC_CHARS:,}", source=source)
        self.lines = _LINE_END.split(text)
        if self.lines and self.lines[-1] == "":
            self.lines.pop()
        for lineno, line in enumerate(self.lines, start=1):
            if len(line) > MAX_LINE_CHARS:
                raise self.error(f"this line has {len(line):,} characters; at most {MAX_LINE_CHARS:,}",
                                 lineno, MAX_LINE_CHARS + 1)
        self.tokens = self._tokenize()

    def error(self, message: str, line: int, col: int) -> SpecError:
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else None
        return SpecError(message, source=self.source, line=line, col=col, text=text)

    def _tokenize(self) -> list[Token]:
        tokens: list[Token] = []
        for lineno, line in enumerate(self.lines, start=1):
            pos = 0
            first = True
            while pos < len(line):
                match = _TOKEN_RE.match(line, pos)
                if match is None:
                    char = line[pos]
                    raise self.error(f"unexpected character {char!r}", lineno, pos + 1)
                kind = match.lastgroup
                raw = match.group()
                col = pos + 1
                pos = match.end()
                if kind in ("space", "comment"):
                    continue
                if kind in ("dims", "repeat", "number", "word", "option"):
                    self._check_digits(raw, lineno, col)
                value: object = raw
                if kind == "dims":
                    value = tuple(_dim(part) for part in _SPLIT_DIMS.split(raw))
                elif kind == "param":
                    value = raw[1:-1]
                elif kind == "repeat":
                    value = int(_DIGITS.match(raw).group())
                elif kind == "number":
                    value = float(raw) if "." in raw else int(raw)
                elif kind == "option":
                    key, _, val = raw.partition("=")
                    value = (key.lower(), val)
                elif kind == "word":
                    value = raw.lower()
                tokens.append(Token(kind, value, lineno, col, raw))
                if first and kind == "word" and value in TEXT_HEADERS:
                    rest = line[pos:].strip()
                    tokens.append(Token("text", rest, lineno, pos + 1, rest))
                    pos = len(line)
                first = False
            if tokens and tokens[-1].kind != "newline":
                tokens.append(Token("newline", "\n", lineno, len(line) + 1, ""))
        last = len(self.lines) + 1
        tokens.append(Token("eof", None, last, 1, ""))
        return tokens

    def _check_digits(self, raw: str, lineno: int, col: int) -> None:
        """Refuse a run of more than MAX_DIGITS digits where it is written:
        Python cannot convert it, and no product of it could be printed."""
        if len(raw) <= MAX_DIGITS:
            return
        for run in _DIGITS.finditer(raw):
            if run.end() - run.start() > MAX_DIGITS:
                raise self.error(f"a number of {run.end() - run.start():,} digits; at most {MAX_DIGITS}",
                                 lineno, col + run.start())
