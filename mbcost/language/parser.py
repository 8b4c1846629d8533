"""Recursive-descent parser: tokens -> :class:`SpecTree`.

The grammar is given in docs/spec-format.md. The parser knows only the syntax:
which words are layer types comes from the layer registry (``mbcost.kinds``), and
what a layer's dimensions and options mean is checked by that layer's kind.
A hand-written parser (rather than a grammar library) keeps import time near zero
on the symbolic path and lets every message say what was expected, in words.
"""

from __future__ import annotations

import re

from mbcost.errors import SpecError
from mbcost.kinds import FLAG_SPELLINGS, KEYWORDS, PHRASES, POST_OPS
from mbcost.language.ast import BlockCall, BlockDef, Branch, Concat, LayerStmt, Loc, Repeat, Residual, SpecTree, Stage
from mbcost.language.lexer import Lexer, Param, Token
from mbcost.numbers import is_ascii_digits

HEADERS = ("model", "description", "input", "classes", "after", "width")
STRUCTURE = ("block", "concat", "branch", "residual")
_STRIDE_RE = re.compile(r"s(\d+)(?:x(\d+))?$")
_LABEL_RE = re.compile(r"[a-z_][a-z0-9_]*$")
MAX_REPEAT = 1000
#: How deeply { } groups (repeats, residuals, concats and their branches) may
#: nest: far more than any real network (the zoo's deepest is 3), far less than
#: what would exhaust Python's recursion.
MAX_NESTING = 50


def parse_spec(text: str, source: str = "<spec>") -> SpecTree:
    """Parse a spec's text. Raises :class:`SpecError` with file:line:col."""
    return _Parser(Lexer(text, source)).parse()


class _Parser:
    def __init__(self, lexer: Lexer) -> None:
        self.lexer = lexer
        self.tokens = lexer.tokens
        self.pos = 0
        self.post_rules: dict[str, tuple[str, ...]] = {}
        self.nesting = 0
        #: Words that end a one-line statement as a line end would: ``branch``
        #: while a ``branch LAYER`` is read (``add { branch relu branch pw 8 }``).
        self.ends: tuple[str, ...] = ()

    # -- token helpers -------------------------------------------------
    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]

    def next(self) -> Token:
        tok = self.peek()
        self.pos = min(self.pos + 1, len(self.tokens) - 1)
        return tok

    def error(self, message: str, tok: Token | Loc) -> SpecError:
        return self.lexer.error(message, tok.line, tok.col)

    def at_end_word(self, tok: Token) -> bool:
        return tok.kind == "word" and tok.value in self.ends

    def is_punct(self, tok: Token, char: str) -> bool:
        return tok.kind == "punct" and tok.value == char

    def expect_newline(self) -> None:
        tok = self.peek()
        if tok.kind in ("newline", "eof") or self.is_punct(tok, "}") or self.at_end_word(tok):
            if tok.kind == "newline":
                self.next()
            return
        raise self.error(f"unexpected {describe(tok)}", tok)

    # -- top level -------------------------------------------------------
    def parse(self) -> SpecTree:
        tree = SpecTree(source=self.lexer.source, lines=self.lexer.lines, body=[])
        tree.body = self.parse_body(tree, closing=None)
        return tree

    def parse_body(self, tree: SpecTree, closing: Token | None, follow: tuple[str, ...] = ()) -> list:
        """Statements up to the ``}`` that matches ``closing`` (or the end of the
        file when None); after that ``}``, the end of the line, another ``}``, or
        a word in ``follow`` (``branch``: the one-line ``add { branch a { ... }
        branch b { ... } }`` the docs show)."""
        body: list = []
        while True:
            tok = self.peek()
            if tok.kind == "newline":
                self.next()
                continue
            if tok.kind == "eof":
                if closing is not None:
                    raise self.error("'{' is never closed: missing '}'", closing)
                return body
            if self.is_punct(tok, "}"):
                if closing is None:
                    raise self.error("'}' without a matching '{'", tok)
                self.next()
                after = self.peek()
                if not (after.kind == "word" and after.value in follow):
                    self.expect_newline()
                return body
            if tok.kind == "word" and tok.value == "block" and not self.is_punct(self.peek(1), ":"):
                if closing is not None:
                    raise self.error("blocks are defined at the top level, not inside another block", tok)
                self.parse_block_def(tree)
                continue
            if tok.kind == "word" and tok.value in HEADERS and not self.is_punct(self.peek(1), ":"):
                if closing is not None and tok.value != "after":
                    raise self.error(f"'{tok.value}' belongs at the top level, not inside a block", tok)
                self.parse_header(tree)
                continue
            body.append(self.parse_statement(tree))

    def parse_header(self, tree: SpecTree) -> None:
        tok = self.next()
        key = tok.value
        if key == "model":
            name = self.next()
            if name.kind != "word":
                raise self.error("expected a model name after 'model'", name)
            tree.name = name.text
        elif key == "description":
            text = self.next()
            tree.description = str(text.value) if text.kind == "text" else ""
            if text.kind != "text":
                self.pos -= 1
        elif key == "input":
            size = self.next()
            if size.kind != "dims" or len(size.value) != 3 or not all(isinstance(v, int) for v in size.value):
                raise self.error("expected the input size as H x W x C, e.g. 224x224x3", size)
            if any(v <= 0 for v in size.value):
                raise self.error("input size must be positive", size)
            tree.input = tuple(size.value)
            tree.input_loc = Loc(size.line, size.col)
        elif key == "classes":
            num = self.next()
            if num.kind != "number" or not isinstance(num.value, int) or num.value <= 0:
                raise self.error("expected a positive whole number of classes", num)
            tree.classes = num.value
        elif key == "after":
            self.parse_after()
        elif key == "width":
            self.parse_width(tree)
        self.expect_newline()

    def parse_width(self, tree: SpecTree) -> None:
        """``width divisor=8 min_depth=8``: the spec's channel rounding under alpha."""
        seen = False
        while self.peek().kind == "option":
            tok = self.next()
            key, raw = tok.value
            if key not in ("divisor", "min_depth"):
                raise self.error(f"'width' takes divisor= and min_depth=, not '{key}'", tok)
            if not is_ascii_digits(raw) or int(raw) < (1 if key == "divisor" else 0):
                raise self.error(f"width {key} must be a whole number >= {1 if key == 'divisor' else 0}, got '{raw}'",
                                 tok)
            setattr(tree, f"width_{key}", int(raw))
            seen = True
        if not seen:
            raise self.error("'width' needs divisor=N and/or min_depth=N, e.g. 'width divisor=8'", self.peek())

    def parse_after(self) -> None:
        """``after conv dw: bn relu`` -- every later layer of these kinds gets them."""
        kinds: list[str] = []
        while not self.is_punct(self.peek(), ":"):
            tok = self.next()
            if tok.kind != "word" or tok.value not in KEYWORDS:
                raise self.error(f"expected layer types then ':' in 'after', got {describe(tok)}", tok)
            kinds.append(KEYWORDS[tok.value])
        self.next()
        ops: list[str] = []
        while self.peek().kind == "word":
            tok = self.next()
            op = _post_op(tok.value)
            if op is None and tok.value != "none":
                raise self.error(
                    f"'{tok.text}' cannot follow a layer; use one of: {', '.join(sorted(POST_OPS))}, none", tok
                )
            if op is not None:
                ops.append(op)
        if not kinds:
            raise self.error("'after' needs at least one layer type", self.peek())
        for kind in kinds:
            self.post_rules[kind] = tuple(ops)

    # -- statements ------------------------------------------------------
    def parse_statement(self, tree: SpecTree):
        tok = self.peek()
        label = None
        if tok.kind == "word" and self.is_punct(self.peek(1), ":"):
            if not _LABEL_RE.match(tok.value) or tok.value in KEYWORDS or tok.value in STRUCTURE:
                raise self.error(f"'{tok.text}' cannot be a layer name", tok)
            label = tok.text
            self.next()
            self.next()
            tok = self.peek()
        if tok.kind == "word" and tok.value == "stage" and self.peek(1).kind == "number":
            if label is not None:
                raise self.error("a stage cannot have a name", tok)
            return self.parse_stage(tree)
        if tok.kind == "repeat":
            self.next()
            count = int(tok.value)
            if not 1 <= count <= MAX_REPEAT:
                raise self.error(f"a repeat count must be between 1 and {MAX_REPEAT}", tok)
            loc = Loc(tok.line, tok.col)
            if self.is_punct(self.peek(), "{"):
                if label is not None:
                    raise self.error("a repeated block cannot have a name", tok)
                body = self.parse_braced(tree, "a repeated block")
                return Repeat(count, body, loc)
            return Repeat(count, [self.parse_item(tree, label)], loc)
        return self.parse_item(tree, label)

    def parse_item(self, tree: SpecTree, label: str | None):
        """A layer line, a concat, a residual or a block call."""
        tok = self.peek()
        if tok.kind == "word" and tok.value in ("concat", "add") and self.is_punct(self.peek(1), "{"):
            return self.parse_concat(tree, label)
        if tok.kind == "word" and tok.value == "residual":
            self.next()
            body = self.parse_braced(tree, "a residual")
            return Residual(label, body, Loc(tok.line, tok.col))
        if tok.kind == "word" and tok.value == "branch":
            raise self.error("'branch' belongs inside 'concat { ... }' or 'add { ... }'", tok)
        if tok.kind == "word" and tok.value == "block":
            raise self.error("blocks are defined at the top level: 'block NAME(params) { ... }'", tok)
        if tok.kind == "word" and self.is_punct(self.peek(1), "(") and tok.value not in KEYWORDS:
            return self.parse_call(label)
        return self.parse_layer(label)

    def enter(self, tok: Token) -> None:
        """One more level of { } nesting, refused past MAX_NESTING."""
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise self.error(f"groups nest more than {MAX_NESTING} levels deep here", tok)

    def parse_braced(self, tree: SpecTree, what: str, follow: tuple[str, ...] = ()) -> list:
        brace = self.next()
        if not self.is_punct(brace, "{"):
            raise self.error(f"expected '{{' to open {what}, got {describe(brace)}", brace)
        self.enter(brace)
        outer, self.ends = self.ends, ()  # inside braces, lines end statements again
        body = self.parse_body(tree, closing=brace, follow=follow)
        self.ends = outer
        self.nesting -= 1
        if not body:
            raise self.error(f"{what} needs at least one layer", brace)
        return body

    def parse_stage(self, tree: SpecTree) -> Stage:
        tok = self.next()
        count_tok = self.next()
        count = int(count_tok.value)
        if not 1 <= count <= MAX_REPEAT:
            raise self.error(f"a stage has 1 to {MAX_REPEAT} blocks", count_tok)
        body = self.parse_braced(tree, "a stage")
        return Stage(count, body[:1], body[1:], Loc(tok.line, tok.col))

    def parse_concat(self, tree: SpecTree, label: str | None) -> Concat:
        tok = self.next()
        op = tok.value
        brace = self.next()
        if not self.is_punct(brace, "{"):
            raise self.error(f"expected '{{' after '{op}', got {describe(brace)}", brace)
        self.enter(brace)
        branches: list[Branch] = []
        while True:
            inner = self.peek()
            if inner.kind == "newline":
                self.next()
                continue
            if self.is_punct(inner, "}"):
                self.next()
                break
            if inner.kind == "eof":
                raise self.error("'{' is never closed: missing '}'", brace)
            if inner.kind != "word" or inner.value != "branch":
                raise self.error(f"expected 'branch' inside '{op}', got {describe(inner)}", inner)
            self.next()
            name = None
            after = self.peek()
            if after.kind == "word" and self.is_punct(self.peek(1), "{"):
                if not _LABEL_RE.match(after.value):
                    raise self.error(f"'{after.text}' cannot be a branch name", after)
                name = after.text
                self.next()
            if self.is_punct(self.peek(), "{"):
                body = self.parse_braced(tree, "a branch", follow=("branch",))
            else:
                outer, self.ends = self.ends, ("branch",)
                body = [self.parse_statement(tree)]
                self.ends = outer
            branches.append(Branch(name, body, Loc(inner.line, inner.col)))
        if not branches or (op == "add" and len(branches) < 2):
            raise self.error(f"'{op}' needs at least {'one branch' if op == 'concat' else 'two branches'}", tok)
        self.nesting -= 1
        self.expect_newline()
        return Concat(label, branches, Loc(tok.line, tok.col), op)

    def parse_call(self, label: str | None) -> BlockCall:
        name = self.next()
        self.next()  # "("
        call = BlockCall(label, name.value, [], {}, Loc(name.line, name.col))
        while not self.is_punct(self.peek(), ")"):
            tok = self.next()
            if tok.kind == "number" and isinstance(tok.value, int):
                value = tok.value
            elif tok.kind == "param":
                value = Param(tok.value)
            elif tok.kind == "option":
                key, raw = tok.value
                if key in call.kwargs:
                    raise self.error(f"argument '{key}' given twice", tok)
                raw_value = Param(raw[1:-1]) if raw.startswith("{") and raw.endswith("}") else raw
                if not isinstance(raw_value, Param) and not is_ascii_digits(raw):
                    raise self.error(f"argument '{key}' must be a whole number or a {{parameter}}", tok)
                call.kwargs[key] = (raw_value if isinstance(raw_value, Param) else int(raw),
                                    Loc(tok.line, tok.col))
                value = None
            else:
                raise self.error(f"expected an argument (a whole number) or ')', got {describe(tok)}", tok)
            if value is not None:
                if call.kwargs:
                    raise self.error("positional arguments come before key=value ones", tok)
                call.args.append((value, Loc(tok.line, tok.col)))
            sep = self.peek()
            if self.is_punct(sep, ","):
                self.next()
            elif not self.is_punct(sep, ")"):
                raise self.error(f"expected ',' or ')' in the call of '{name.text}', got {describe(sep)}", sep)
        self.next()  # ")"
        self.expect_newline()
        return call

    def parse_block_def(self, tree: SpecTree) -> None:
        kw = self.next()
        name = self.next()
        if name.kind != "word" or not _LABEL_RE.match(name.value):
            raise self.error(f"expected a block name after 'block', got {describe(name)}", name)
        if name.value in KEYWORDS or name.value in STRUCTURE or name.value in HEADERS:
            raise self.error(f"'{name.text}' is a reserved word and cannot name a block", name)
        if name.value in tree.blocks:
            raise self.error(f"block '{name.text}' is defined twice", name)
        params: list[str] = []
        if self.is_punct(self.peek(), "("):
            self.next()
            while not self.is_punct(self.peek(), ")"):
                tok = self.next()
                if tok.kind != "word" or not _LABEL_RE.match(tok.value):
                    raise self.error(f"expected a parameter name, got {describe(tok)}", tok)
                if tok.value in params:
                    raise self.error(f"parameter '{tok.text}' is listed twice", tok)
                params.append(tok.value)
                if self.is_punct(self.peek(), ","):
                    self.next()
                elif not self.is_punct(self.peek(), ")"):
                    raise self.error(f"expected ',' or ')', got {describe(self.peek())}", self.peek())
            self.next()
        body = self.parse_braced(tree, f"block '{name.text}'")
        tree.blocks[name.value] = BlockDef(name.value, params, body, Loc(kw.line, kw.col))

    def parse_layer(self, label: str | None) -> LayerStmt:
        tok = self.next()
        if tok.kind != "word":
            raise self.error(f"expected a layer type, got {describe(tok)}", tok)
        kind, written = self.layer_keyword(tok)
        stmt = LayerStmt(kind=kind, written=written, loc=Loc(tok.line, tok.col), label=label)
        post: list[str] | None = None  # '+op's, appended in place (not a tuple copied per op)
        if self.is_punct(self.peek(), "/"):
            self.next()
            stride_tok = self.next()
            if stride_tok.kind != "word" or not _STRIDE_RE.match(stride_tok.value):
                raise self.error(f"expected a stride like s1 or s2 after '/', got {describe(stride_tok)}", stride_tok)
            self.set_stride(stmt, stride_tok)
        while True:
            tok = self.peek()
            if tok.kind in ("newline", "eof") or self.is_punct(tok, "}") or self.at_end_word(tok):
                break
            self.next()
            if tok.kind == "dims" or (tok.kind == "number" and isinstance(tok.value, int)):
                dims = tok.value if tok.kind == "dims" else (tok.value,)
                if stmt.dims is not None:
                    raise self.error("a second shape on one line: write the input size after '@'", tok)
                stmt.dims, stmt.dims_loc = tuple(dims), Loc(tok.line, tok.col)
            elif tok.kind == "word" and _STRIDE_RE.match(tok.value) and stmt.stride is None:
                self.set_stride(stmt, tok)
            elif tok.kind == "word":
                if tok.value in stmt.flags:
                    raise self.error(f"'{tok.text}' given twice", tok)
                stmt.flags[tok.value] = Loc(tok.line, tok.col)
            elif tok.kind == "option":
                key, value = tok.value
                if key in stmt.options:
                    raise self.error(f"option '{key}' given twice", tok)
                stmt.options[key] = (value, Loc(tok.line, tok.col))
            elif self.is_punct(tok, "+"):
                op = self.next()
                post_kind = _post_op(op.value) if op.kind == "word" else None
                if post_kind is None:
                    raise self.error(
                        f"expected one of {', '.join(sorted(POST_OPS))} after '+', got {describe(op)}", op
                    )
                post = post if post is not None else []
                post.append(post_kind)
                stmt.post_loc = stmt.post_loc or Loc(tok.line, tok.col)
            elif self.is_punct(tok, "@"):
                size = self.next()
                if size.kind == "dims" and len(size.value) == 3 and "?" not in size.value:
                    stmt.input_size = tuple(size.value)
                elif size.kind == "number" and isinstance(size.value, int):
                    stmt.input_size = (1, 1, size.value)
                else:
                    raise self.error(f"expected an input size like 14x14x512 after '@', got {describe(size)}", size)
                stmt.input_loc = Loc(size.line, size.col)
                end = self.peek()
                if not (end.kind in ("newline", "eof") or self.is_punct(end, "}") or self.at_end_word(end)):
                    raise self.error(f"nothing may follow the input size, got {describe(end)}", end)
            else:
                raise self.error(f"unexpected {describe(tok)}", tok)
        if post is not None:
            stmt.post = tuple(post)
        # the line's kind is settled before anything keys on it (after-rules, names)
        for flag in stmt.flags:
            if (kind, flag) in FLAG_SPELLINGS:
                kind = stmt.kind = FLAG_SPELLINGS[(kind, flag)]
        if stmt.post is None:
            stmt.post = self.post_rules.get(kind, ())
        self.expect_newline()
        return stmt

    def layer_keyword(self, tok: Token) -> tuple[str, str]:
        second = self.peek()
        if second.kind == "word" and (tok.value, second.value) in PHRASES:
            self.next()
            return PHRASES[(tok.value, second.value)], f"{tok.text} {second.text}"
        if tok.value in KEYWORDS:
            return KEYWORDS[tok.value], tok.text
        if tok.value in HEADERS:
            raise self.error(f"'{tok.text}' is a header and cannot be a layer type", tok)
        import difflib  # only on this error path

        close = difflib.get_close_matches(tok.value, list(KEYWORDS), n=3)
        hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
        raise self.error(f"unknown layer type '{tok.text}'{hint}", tok)

    def set_stride(self, stmt: LayerStmt, tok: Token) -> None:
        match = _STRIDE_RE.match(tok.value)
        sh = int(match.group(1))
        sw = int(match.group(2)) if match.group(2) else sh
        if sh <= 0 or sw <= 0:
            raise self.error("stride must be positive", tok)
        stmt.stride, stmt.stride_loc = (sh, sw), Loc(tok.line, tok.col)


def _post_op(word: str) -> str | None:
    """The post kind a word spells (``swish`` is ``silu``), or None."""
    kind = KEYWORDS.get(word, word)
    return kind if kind in POST_OPS else None


def describe(tok: Token) -> str:
    if tok.kind == "eof":
        return "end of file"
    if tok.kind == "newline":
        return "end of line"
    return f"'{tok.text}'"
