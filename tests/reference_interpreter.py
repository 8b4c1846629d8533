"""A small reference interpreter of the layer-spec language, for the tests only.

Written from docs/spec-format.md (the grammar, the kinds and costs tables, the
names, the classifier and alpha rules), deliberately without importing or
reading anything of mbcost's modules, so that a parser or compiler mistake in
mbcost cannot hide behind a torch build that inherits it. It handles the subset
of the language that tests/test_reference_interpreter.py generates: headers
(input, classes, after, width), layer lines with labels, '/ sN', shapes, flags,
options and '+post' ops, 'Nx' repeats of a line or a { } group, 'residual { }',
'concat { branch ... }', and blocks with {parameters}.

Readings of the docs recorded here:
* 'after KINDS: OPS' applies to later lines of those kinds; a line's own '+ops'
  replace the rule. 'conv ... dw' is the dw kind for every purpose.
* A conv or fc has a bias unless batch norm follows it on its row.
* Pooling is 'valid' unless pad= says otherwise; convolutions are TensorFlow
  'same' (output ceil(in/stride)).
* Adaptive pooling: PyTorch's windows [floor(i·n/m), ceil((i+1)·n/m)).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from fractions import Fraction


class Rejected(Exception):
    """The spec makes no network (the docs' rules say so)."""


KINDS = {"conv": "conv", "conv2d": "conv", "dw": "dw", "dwconv": "dw", "pw": "pw", "fc": "fc", "linear": "fc",
         "dense": "fc", "avgpool": "avgpool", "pool": "avgpool", "maxpool": "maxpool", "gap": "gap", "gmp": "gmp",
         "relu": "relu", "relu6": "relu6", "bn": "bn", "batchnorm": "bn", "softmax": "softmax",
         "dropout": "dropout", "flatten": "flatten", "adaptive_avgpool": "adaptive_avgpool",
         "adaptive_maxpool": "adaptive_maxpool"}
TWO_WORDS = {("conv", "dw"): "dw", ("conv", "pw"): "pw", ("avg", "pool"): "avgpool", ("max", "pool"): "maxpool",
             ("batch", "norm"): "bn", ("fully", "connected"): "fc", ("adaptive", "avgpool"): "adaptive_avgpool",
             ("adaptive", "maxpool"): "adaptive_maxpool"}
CATEGORY = {"bn": "BatchNorm", "relu": "ReLU", "relu6": "ReLU6", "fc": "Fully Connected"}


@dataclass
class Row:
    name: str
    kind: str
    h: int
    w: int
    c: int
    mult_adds: int = 0
    weights: int = 0
    biases: int = 0
    norm: int = 0
    category: str = ""


@dataclass
class Settings:
    alpha: Fraction = Fraction(1)
    resolution: int | None = None
    divisor: int | None = None
    min_depth: int | None = None
    classes: int | None = None
    count: frozenset = frozenset({"conv", "fc"})


@dataclass
class _Line:
    label: str | None
    kind: str
    stride: tuple[int, int]
    dims: list
    flags: set
    options: dict
    post: list | None


@dataclass
class _Scope:
    prefix: str
    counters: dict = field(default_factory=dict)


# -- parsing -------------------------------------------------------------------------

def _strip(line: str) -> str:
    return line.split("#", 1)[0].strip()


def parse(text: str):
    """(headers, blocks, body): body is a list of items; an item is ('line', _Line),
    ('repeat', n, body), ('residual', label, body), ('concat', label, [(name, body)])
    or ('call', label, block, args)."""
    lines = [_strip(x) for x in text.split("\n")]
    lines = [x for x in lines if x]
    pos = 0
    headers = {"after": {}, "divisor": 1, "min_depth": 0, "classes": None, "input": None}
    blocks: dict = {}

    def body_until_close():
        nonlocal pos
        items = []
        while pos < len(lines):
            line = lines[pos]
            if line == "}":
                pos += 1
                return items
            items.append(item())
        raise Rejected("unclosed {")

    def item():
        nonlocal pos
        line = lines[pos]
        words = line.split()
        if words[0] == "after":
            spec, ops = line[len("after"):].split(":")
            # "after conv dw: bn relu" names two kinds, conv and dw (docs: "every later
            # conv and dw layer"), not the two-word spelling of dw
            kinds = [KINDS[w] for w in spec.split()]
            for k in kinds:
                headers["after"][k] = [o for o in ops.split() if o != "none"]
            pos += 1
            return ("nothing",)
        label = None
        if re.match(r"^[a-z_][a-z0-9_]*:", line):
            label, line = line.split(":", 1)
            line = line.strip()
        m = re.match(r"^(\d+)x\s*(.*)$", line)
        if m and not re.match(r"^\d+x\d", line):
            count, rest = int(m.group(1)), m.group(2).strip()
            if rest == "{":
                pos += 1
                return ("repeat", count, body_until_close())
            lines[pos] = rest
            return ("repeat", count, [item()])
        if line == "residual {":
            pos += 1
            return ("residual", label, body_until_close())
        if line == "concat {":
            pos += 1
            branches = []
            while lines[pos] != "}":
                one = re.match(r"^branch(?:\s+([a-z_][a-z0-9_]*))?\s*\{(.+)\}$", lines[pos])
                if one:  # branch NAME { one line }
                    lines[pos] = one.group(2).strip()
                    branches.append((one.group(1), [item()]))
                    continue
                bm = re.match(r"^branch(?:\s+([a-z_][a-z0-9_]*))?\s*\{$", lines[pos])
                if not bm:
                    raise Rejected(f"expected a branch: {lines[pos]}")
                pos += 1
                branches.append((bm.group(1), body_until_close()))
            pos += 1
            return ("concat", label, branches)
        cm = re.match(r"^([a-z_][a-z0-9_]*)\((.*)\)$", line)
        if cm and cm.group(1) not in KINDS:
            pos += 1
            args = [a.strip() for a in cm.group(2).split(",") if a.strip()]
            return ("call", label, cm.group(1), args)
        pos += 1
        return ("line", _layer(label, line, headers))

    body = []
    while pos < len(lines):
        words = lines[pos].split()
        if words[0] == "input":
            headers["input"] = tuple(int(x) for x in words[1].split("x"))
            pos += 1
        elif words[0] == "classes":
            headers["classes"] = int(words[1])
            pos += 1
        elif words[0] == "width":
            for opt in words[1:]:
                key, value = opt.split("=")
                headers[key] = int(value)
            pos += 1
        elif words[0] == "block":
            bm = re.match(r"^block\s+([a-z_][a-z0-9_]*)\((.*)\)\s*\{$", lines[pos])
            pos += 1
            params = [p.strip() for p in bm.group(2).split(",") if p.strip()]
            blocks[bm.group(1)] = (params, body_until_close())
        else:
            body.append(item())
    return headers, blocks, body


def _layer(label, text, headers) -> _Line:
    words = text.split()
    if len(words) > 1 and (words[0], words[1]) in TWO_WORDS:
        kind, words = TWO_WORDS[(words[0], words[1])], words[2:]
    else:
        kind, words = KINDS[words[0]], words[1:]
    stride, dims, flags, options, post = (1, 1), [], set(), {}, None
    i = 0
    while i < len(words):
        w = words[i]
        if w == "/":
            s = words[i + 1][1:].split("x")
            stride = (int(s[0]), int(s[-1]))
            i += 2
            continue
        if re.match(r"^s\d+(x\d+)?$", w):  # a STRIDE item: s2, s2x1
            parts = w[1:].split("x")
            stride = (int(parts[0]), int(parts[-1]))
        elif re.match(r"^[0-9?{]", w):
            dims = w.split("x")
        elif w.startswith("+"):
            post = (post or []) + [w[1:]]
        elif "=" in w:
            key, value = w.split("=", 1)
            options[key] = value
        else:
            flags.add(w)
        i += 1
    if kind == "conv" and "dw" in flags:
        kind = "dw"
    if post is None:
        post = list(headers["after"].get(kind, []))
    return _Line(label, kind, stride, dims, flags, options, post)


# -- evaluation ----------------------------------------------------------------------

def scale(c: int, s: Settings, headers, floor_alpha: bool = False) -> int:
    alpha = max(s.alpha, Fraction(1)) if floor_alpha else s.alpha
    divisor = s.divisor if s.divisor is not None else headers["divisor"]
    min_depth = s.min_depth if s.min_depth is not None else headers["min_depth"]
    v = alpha * c
    if divisor > 1:
        low = max(min_depth, divisor)
        r = max(low, math.floor(v + Fraction(divisor, 2)) // divisor * divisor)
        if r < Fraction(9, 10) * v:
            r += divisor
        return r
    out = max(min_depth, math.floor(v))
    if out <= 0:
        raise Rejected("alpha leaves no channels")
    return out


def _out_len(n, k, s, pad, dil=1, ceil=False):
    span = (k - 1) * dil + 1
    if pad == "same":
        return -(-n // s)
    p = 0 if pad == "valid" else pad
    if n + 2 * p < span:
        raise Rejected("window larger than its input")
    if ceil:
        out = -(-(n + 2 * p - span) // s) + 1
        if (out - 1) * s >= n + p:
            out -= 1
        return out
    return (n + 2 * p - span) // s + 1


def evaluate(text: str, s: Settings) -> list[Row]:
    """The rows at settings ``s``. The spec as written (alpha 1, its own
    resolution) must make a network too: the docs check it there."""
    if s != Settings():
        _evaluate(text, Settings())
    return _evaluate(text, s)


def _evaluate(text: str, s: Settings) -> list[Row]:
    headers, blocks, body = parse(text)
    h, w, c = headers["input"]
    if s.resolution is not None:
        h = w = s.resolution
    classifier = _find_classifier(headers, blocks, body)
    rows: list[Row] = []
    names: set = set()

    def name(scope, label, kind, suffix):
        if label:
            n = scope.prefix + label + suffix
            if n in names:
                raise Rejected(f"the name {n} is used twice (names are unique)")
        else:
            while True:
                scope.counters[kind] = scope.counters.get(kind, 0) + 1
                n = f"{scope.prefix}{kind}{scope.counters[kind]}"
                if n not in names:
                    break
        names.add(n)
        return n

    def run(items, shape, scope, env, suffix):
        for it in items:
            shape = run_item(it, shape, scope, env, suffix)
        return shape

    def run_item(it, shape, scope, env, suffix):
        tag = it[0]
        if tag == "nothing":
            return shape
        if tag == "repeat":
            for i in range(1, it[1] + 1):
                shape = run(it[2], shape, scope, env, f"{suffix}_{i}")
            return shape
        if tag == "residual":
            n = name(scope, it[1], "add", suffix)
            out = run(it[2], shape, scope, env, suffix)
            if out != shape:
                raise Rejected("residual shapes differ")
            rows.append(Row(n, "add", *shape, category="Add"))
            return shape
        if tag == "concat":
            n = name(scope, it[1], "concat", suffix)
            ends = []
            for bname, bbody in it[2]:
                b = name(scope, bname, "b", suffix)
                ends.append(run(bbody, shape, _Scope(b + "."), env, ""))
            if len({(e[0], e[1]) for e in ends}) != 1:
                raise Rejected("concat branches differ in size")
            out = (ends[0][0], ends[0][1], sum(e[2] for e in ends))
            rows.append(Row(n, "concat", *out, category="Concat"))
            return out
        if tag == "call":
            params, bbody = blocks[it[2]]
            values = dict(zip(params, [int(env.get(a.strip("{}"), a)) if a.startswith("{") else int(a)
                                       for a in it[3]]))
            n = name(scope, it[1], it[2], suffix)
            return run(bbody, shape, _Scope(n + "."), values, "")
        line = it[1]
        is_classifier = id(line) in classifier
        dims = [env[d[1:-1]] if d.startswith("{") else (None if d == "?" else int(d)) for d in line.dims]
        options = {k: str(env[v[1:-1]]) if v.startswith("{") else v for k, v in line.options.items()}
        stride = line.stride
        if "stride" in options:
            parts = options.pop("stride").split("x")
            stride = (int(parts[0]), int(parts[-1]))
        line = _Line(line.label, line.kind, stride, line.dims, line.flags, options, line.post)
        n = name(scope, line.label, line.kind, suffix)
        row, shape = layer(line, dims, shape, n, is_classifier)
        rows.append(row)
        for op in line.post:
            _post(row, op, shape, s)
        return shape

    def layer(line, dims, shape, n, is_classifier):
        hh, ww, cc = shape
        k, opts = line.kind, line.options
        sh, sw = line.stride
        count = s.count
        has_bn = "bn" in line.post
        if k in ("conv", "dw", "pw"):
            if k == "pw":
                kh = kw = 1
                m, nn = dims[-2], dims[-1]
            elif k == "dw":
                kh, kw = dims[0], dims[1]
                m, nn = dims[2], None
            else:
                kh, kw, m, nn = dims
            groups = int(opts.get("groups", 1))
            dil = int(opts.get("dil", 1))
            pad = opts.get("pad", "same")
            pad = pad if pad in ("same", "valid") else int(pad)
            if k == "dw":
                groups, out_c = cc, cc * int(opts.get("mult", 1))
            elif "expand" in opts:
                out_c = int(opts["expand"]) * cc
            elif is_classifier:
                out_c = s.classes if s.classes is not None else nn
            else:
                out_c = scale(nn, s, headers, "noshrink" in line.flags)
            if cc % groups or out_c % groups:
                raise Rejected("groups do not divide")
            ho, wo = _out_len(hh, kh, sh, pad, dil), _out_len(ww, kw, sw, pad, dil)
            weights = kh * kw * (cc // groups) * out_c
            cat = (f"Conv {kh}×{kw}" if groups == 1 else
                   f"Conv DW {kh}×{kw}" if groups == cc else f"Group Conv {kh}×{kw}")
            bias = out_c if not has_bn and opts.get("bias") != "no" else 0
            row = Row(n, k, ho, wo, out_c, weights * ho * wo if "conv" in count else 0, weights, bias, 0, cat)
            return row, (ho, wo, out_c)
        if k == "fc":
            if (hh, ww) != (1, 1):
                raise Rejected("fc needs a 1x1 input")
            out_c = (s.classes if s.classes is not None else dims[1]) if is_classifier else \
                scale(dims[1], s, headers, "noshrink" in line.flags)
            bias = out_c if not has_bn else 0
            return Row(n, k, 1, 1, out_c, cc * out_c if "fc" in count else 0, cc * out_c, bias, 0,
                       "Fully Connected"), (1, 1, out_c)
        if k in ("gap", "gmp") or "global" in line.flags:
            cat = "Max Pool" if k in ("gmp", "maxpool") else "Avg Pool"
            return Row(n, k, 1, 1, cc, hh * ww * cc if "pool" in count else 0, category=cat), (1, 1, cc)
        if k in ("avgpool", "maxpool"):
            kh, kw = dims[0], dims[-1]
            pad = opts.get("pad", "valid")
            pad = pad if pad in ("same", "valid") else int(pad)
            ceil = opts.get("ceil") == "yes"
            ho, wo = _out_len(hh, kh, sh, pad, 1, ceil), _out_len(ww, kw, sw, pad, 1, ceil)
            cat = "Max Pool" if k == "maxpool" else "Avg Pool"
            return Row(n, k, ho, wo, cc, kh * kw * cc * ho * wo if "pool" in count else 0, category=cat), \
                (ho, wo, cc)
        if k in ("adaptive_avgpool", "adaptive_maxpool"):
            ho, wo = dims[0], dims[-1]

            def covered(size, out):
                return sum(math.ceil(Fraction((i + 1) * size, out)) - math.floor(Fraction(i * size, out))
                           for i in range(out))

            cat = "Max Pool" if k == "adaptive_maxpool" else "Avg Pool"
            return Row(n, k, ho, wo, cc, covered(hh, ho) * covered(ww, wo) * cc if "pool" in count else 0,
                       category=cat), (ho, wo, cc)
        if k == "flatten":
            return Row(n, k, 1, 1, hh * ww * cc, category="Flatten"), (1, 1, hh * ww * cc)
        row = Row(n, k, hh, ww, cc, category=CATEGORY.get(k, k.capitalize()))
        _post(row, k, shape, s)
        return row, shape

    run(body, (h, w, c), _Scope(""), {}, "")
    return rows


def _post(row: Row, op: str, shape, s: Settings) -> None:
    """Batch norm or an activation applied to ``shape`` on ``row``."""
    hh, ww, cc = shape
    if op == "bn":
        row.norm += 2 * cc
        if "bn" in s.count:
            row.mult_adds += hh * ww * cc
    elif op in ("relu", "relu6") and "act" in s.count:
        row.mult_adds += hh * ww * cc


def _find_classifier(headers, blocks, body) -> set:
    """ids of the line(s) of the classifier: the 'logits' line, else the last layer
    with weights when the spec has 'classes' or that layer is fully connected."""
    weighted, flagged = [], []

    def walk(items):
        for it in items:
            if it[0] == "line":
                if it[1].kind in ("conv", "dw", "pw", "fc"):
                    weighted.append(it[1])
                if "logits" in it[1].flags:
                    flagged.append(it[1])
            elif it[0] in ("repeat", "residual"):
                walk(it[2])
            elif it[0] == "concat":
                for _, b in it[2]:
                    walk(b)
            elif it[0] == "call":
                walk(blocks[it[2]][1])

    walk(body)
    if flagged:
        return {id(flagged[-1])}
    if weighted and (headers["classes"] is not None or weighted[-1].kind == "fc"):
        return {id(weighted[-1])}
    return set()
