"""Grammar-aware random inputs for the fuzzers (issue 22): specs written from the
grammar of docs/spec-format.md (valid most of the time, with hostile numbers,
sizes and mutations mixed in), command lines, calibration files and ``--torch``
texts. Plain ``random.Random`` generators, so that the property tests
(``tests/test_fuzz_properties.py``, a seed drawn by Hypothesis) and
``benchmarks/fuzz.py`` (thousands of seeds) share them. Each case is small:
at most a few hundred lines."""

from __future__ import annotations

import contextlib
import json
import random
import time
import tracemalloc

#: kind -> how its shape is written ("k": a kernel side, "c": channels, "?": the input's)
SHAPES = {
    "conv": "k k ? c", "conv2d": "k k ? c", "dw": "k k ?", "conv dw": "k k ?", "pw": "? c", "conv pw": "? c",
    "fc": "? c", "linear": "? c", "maxpool": "k k", "avgpool": "k k", "avg pool": "k", "max pool": "k k",
    "adaptive avgpool": "k k", "gap": "", "gmp": "", "flatten": "", "se": "", "shuffle": "", "split": "",
    "bn": "", "batch norm": "", "relu": "", "relu6": "", "hswish": "", "hsigmoid": "", "silu": "", "sigmoid": "",
    "softmax": "", "dropout": "",
}
KINDS = list(SHAPES)
POST = ["bn", "relu", "relu6", "hswish", "hsigmoid", "silu", "swish", "sigmoid"]
#: options each kind takes (others are refused: a few are drawn anyway)
OPTIONS = {"conv": ["pad=same", "pad=1", "pad=0", "groups={n}", "expand={n}", "stride={n}"],
           "dw": ["pad=same", "pad=1", "mult={n}", "stride={n}"], "pw": ["groups={n}", "expand={n}"],
           "maxpool": ["pad=1", "ceil=yes", "stride={n}"], "avgpool": ["pad=1", "ceil=yes", "stride={n}"],
           "se": ["reduce={n}", "divisor={n}", "act=relu", "gate=hsigmoid"], "shuffle": ["groups={n}"],
           "split": ["parts={n}", "take={n}"], "dropout": ["p=0.{n}"]}
FLAGS = ["dw", "global", "logits", "classifier", "fixed", "noshrink", "pool"]


class Draw:
    """The random source of one case and how hostile it is (0: a plausible
    network, 1: odd but well-formed numbers, 2: anything a fuzzer writes)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.level = rng.choices([0, 1, 2], weights=[6, 2, 2])[0]

    def number(self, small: bool = False) -> str:
        """A number as a hostile user writes one: mostly small, sometimes huge,
        zero, padded, or not ASCII (by the case's level)."""
        rng = self.rng
        if self.level == 0 or rng.random() < 0.8:
            return str(rng.choice([1, 2, 3] if small else [1, 2, 3, 4, 8, 16, 32, 64, 24, 96]))
        roll = rng.random()
        if roll < 0.4:
            return str(rng.randint(1, 5000))
        if roll < 0.7 or self.level == 1:
            return str(10 ** rng.randint(6, 40) + rng.randint(0, 9))
        if roll < 0.85:
            return "9" * rng.choice([100, 399, 400, 401, 4301, 5000])
        if roll < 0.93:
            return rng.choice(["0", "00", "007", "-1"])
        return rng.choice(["\u00b2", "\u0663", "1.5", "1e3", "?"])


def number(rng: random.Random) -> str:
    """A hostile number (level 2)."""
    draw = Draw(rng)
    draw.level = 2
    return draw.number()


def dims(d: Draw, pattern: str) -> str:
    sep = d.rng.choice(["x", "x", "x", " x ", "×", "X"])
    out = []
    for part in pattern.split():
        if part == "?":
            out.append("?" if d.rng.random() < 0.8 or d.level == 0 else d.number())
        else:
            out.append(d.number(small=part == "k"))
    if d.level == 2 and d.rng.random() < 0.2:  # a wrong arity
        out = out[:-1] if out and d.rng.random() < 0.5 else out + [d.number()]
    return sep.join(out)


def layer(d: Draw, params: list[str], label: bool = True) -> str:
    rng = d.rng
    parts = []
    if label and rng.random() < 0.1:
        parts.append(rng.choice(["a", "b1", "conv_x", "skip"]) + ":")
    kind = rng.choice(KINDS)
    parts.append(kind)
    slash = rng.random() < 0.3 and SHAPES[kind] and kind not in ("fc", "linear")
    if slash:
        parts.append(f"/ s{rng.choice(['1', '2', '2x1', d.number(small=True)])}")
    shape = dims(d, SHAPES[kind]) if SHAPES[kind] else (dims(d, "k k") if d.level == 2 and rng.random() < 0.1 else "")
    if shape and params and rng.random() < 0.3:
        head, sep, last = shape.rpartition("x")
        shape = f"{head}{sep}{{{rng.choice(params)}}}" if sep else shape
    if shape:
        parts.append(shape)
    base = kind.split()[0] if kind.split()[0] in OPTIONS else kind.replace("conv ", "").replace("2d", "")
    choices = [c for c in OPTIONS.get(base, []) if not (slash and c.startswith("stride"))] + (
        ["pad=valid", "groups={n}"] if d.level == 2 else [])
    if kind == "se":
        parts.append(f"reduce={d.number(small=True) if d.level else 4}")
    elif kind == "split":
        parts.append("parts=2 take=" + rng.choice(["1", "2"]))
    else:
        picked = rng.sample(choices, min(len(choices), rng.choice([0, 0, 1, 2]))) if choices else []
        picked = list({c.split("=")[0]: c for c in picked}.values())  # one of each key
        parts += [c.format(n=d.number(small=True)) for c in picked if d.level or not c.startswith(("groups", "expand"))]
    if d.level == 2 and rng.random() < 0.1:
        parts.append(rng.choice(FLAGS))
    if SHAPES[kind] and kind not in ("fc", "linear"):
        for _ in range(rng.choice([0, 0, 1, 2, 3])):
            parts.append("+" + rng.choice(POST))
    if rng.random() < 0.05:
        parts.append("@ " + dims(d, "c c c"))
    return " ".join(parts)


def body(d: Draw, depth: int, params: list[str], blocks: list[tuple[str, int]], budget: list[int]) -> list:
    rng, number = d.rng, d.number
    lines: list[str] = []
    for _ in range(rng.randint(1, 4)):
        budget[0] -= 1
        if budget[0] <= 0:
            break
        roll = rng.random()
        if depth > 0 and roll < 0.10:
            lines += [f"{rng.choice(['2', '3', number()])}x {{"] + body(d, depth - 1, params, blocks, budget) + ["}"]
        elif depth > 0 and roll < 0.18:
            lines += ["residual {"] + body(d, depth - 1, params, blocks, budget) + ["}"]
        elif depth > 0 and roll < 0.28:
            op = rng.choice(["concat", "add"])
            branches = [body(d, depth - 1, params, blocks, budget) for _ in range(rng.randint(2, 3))]
            if all(len(b) == 1 for b in branches) and rng.random() < 0.6:  # the one-line form
                lines.append(f"{op} {{ " + " ".join(f"branch {{ {b[0]} }}" for b in branches if b) + " }")
            else:
                lines.append(f"{op} {{")
                for b in branches:
                    lines += ["branch {"] + b + ["}"]
                lines.append("}")
        elif depth > 0 and roll < 0.32:
            lines += [f"stage {rng.choice(['1', '2', number()])} {{"] + body(d, depth - 1, params, blocks, budget) \
                + ["}"]
        elif blocks and roll < 0.40:
            name, arity = rng.choice(blocks)
            lines.append(f"{name}({', '.join(number() for _ in range(arity))})")
        elif roll < 0.45:
            lines.append(f"{rng.choice(['2', '5', number()])}x {layer(d, params, label=False)}")
        else:
            lines.append(layer(d, params))
    return lines


def mutate(rng: random.Random, text: str) -> str:
    """One edit a fuzzer makes: a character dropped, doubled or replaced, a line
    repeated, a long run inserted."""
    if not text:
        return text
    i = rng.randrange(len(text))
    roll = rng.random()
    if roll < 0.3:
        return text[:i] + text[i + 1:]
    if roll < 0.5:
        return text[:i] + text[i] * rng.choice([2, 50, 12_000]) + text[i + 1:]
    if roll < 0.7:
        return text[:i] + rng.choice("{}()[]:@+x?#,=/\t\x00\u2028\ufeff9") + text[i:]
    lines = text.split("\n")
    k = rng.randrange(len(lines))
    return "\n".join(lines[:k] + [lines[k]] * rng.choice([2, 100]) + lines[k:])


def spec(rng: random.Random) -> str:
    """A spec from the grammar: headers, blocks, then a body; 1 in 4 mutated."""
    d = Draw(rng)
    number = d.number
    lines = []
    if rng.random() < 0.5:
        lines.append(f"model {rng.choice(['net', 'm1', 'x'])}")
    if d.level < 2 or rng.random() < 0.9:
        lines.append(f"input {dims(d, 'c c c') if d.level else rng.choice(['224x224x3', '32x32x3', '8x8x16'])}")
    if rng.random() < 0.1:
        lines.append(f"classes {number()}")
    if rng.random() < 0.2:
        lines.append(f"after {rng.choice(['conv', 'conv dw', 'dw pw'])}: {' '.join(rng.sample(POST, 2))}")
    if rng.random() < 0.1:
        lines.append(f"width divisor={number()} min_depth={number()}")
    blocks: list[tuple[str, int]] = []
    budget = [60]
    for b in range(rng.choice([0, 0, 1, 2])):
        params = ["c", "t", "s"][: rng.randint(0, 3)]
        lines += [f"block b{b}({', '.join(params)}) {{"] + body(d, 2, params, blocks, budget) + ["}"]
        blocks.append((f"b{b}", len(params)))
    lines += body(d, 3, [], blocks, budget)
    text = "\n".join(lines) + "\n"
    if d.level == 2 and rng.random() < 0.5:
        text = mutate(rng, text)
    return text


def cli_args(rng: random.Random) -> list[str]:
    """A symbolic command with options in and out of their ranges."""
    value = lambda: rng.choice([number(rng), "nan", "inf", "-inf", "1e400", "1e-400", "0.5", "1e300", "",  # noqa: E731
                                "0.25:1:0.05", "1:0:1", "1:2:0", "0,0.5", "150M", "1.5G", "5ms", "x", "4e12,30e9",
                                "1e300,1e-300", "0:500:25"])
    command = rng.choice(["table", "sweep", "pick", "compare", "layer", "paper", "models", "roofline"])
    args = [command]
    if command == "roofline":
        args.append(rng.choice(["mobilenet_v1", "mobilenet_v2"]))
    if command == "compare":
        args += ["mobilenet_v1", rng.choice(["mobilenet_v1:alpha=" + value(), "vgg16", "mobilenet_v2:res=" + value()])]
    options = {
        "table": ["--alpha", "--res", "--rho", "--depth-mult", "--min-depth", "--divisor", "--classes", "--count",
                  "--params", "--dtype", "--batch"],
        "sweep": ["--alpha", "--res", "--depth-mult", "--count"],
        "pick": ["--max-madds", "--max-params", "--alpha", "--res", "--top"],
        "compare": ["--alpha", "--res", "--count"],
        "layer": ["--k", "--m", "--n", "--df", "--alpha", "--rho"],
        "paper": ["--table"],
        "models": [],
        "roofline": ["--ridge", "--hardware", "--bytes-per-element", "--alpha", "--res"],
    }[command]
    for option in rng.sample(options, min(len(options), rng.randint(0, 3))):
        args += [option, value()]
    if command == "table" and rng.random() < 0.3:
        args.append("--memory")
    if command != "paper":
        args += ["--format", rng.choice(["json", "csv", "markdown", "rich"])]
    return args


def calibration(rng: random.Random) -> str:
    """A calibration file, valid or tampered with (types, ranges, non-finite
    numbers, nesting, size)."""
    data = {"format": "mbcost-latency", "version": 2, "machine": "cpu", "runtime": "torch", "threads": 1,
            "versions": {"torch": "x"}, "created": "", "seconds_spent": 1.0, "bandwidth_bytes_per_s": 1e10,
            "clock": "cpu", "l2_bytes": 1 << 20,
            "coef": {k: {"calls": 1e-05, "mult_adds": 1e-10} for k in ("pw", "conv", "dw", "fc")},
            "correction": {"scale": 1.0, "per_pass_s": 1e-6}, "fit": {}, "networks": [], "validation": []}
    hostile = [5, "5", None, True, -1, 0, 1e308, [], {}, "x" * 1000, 10**25, [1, 2], {"a": 1}]
    for _ in range(rng.choice([0, 1, 1, 2])):
        where = rng.choice(["top", "model", "coef", "correction"])
        if where == "top":
            data[rng.choice(list(data) + ["extra"])] = rng.choice(hostile)
        elif where == "model":
            data["coef"][rng.choice(["pw", "dw", "tconv"])] = rng.choice(hostile)
        elif where == "coef":
            data["coef"]["dw"][rng.choice(["calls", "mult_adds", "elements", "planes"])] = rng.choice(hostile)
        else:
            data["correction"][rng.choice(["scale", "per_pass_s"])] = rng.choice(hostile)
    text = json.dumps(data)
    roll = rng.random()
    if roll < 0.1:
        text = text.replace("1e-05", rng.choice(["Infinity", "NaN", "-Infinity", "1e400", "9" * 5000]), 1)
    elif roll < 0.15:
        text = text.replace('"created": ""', '"created": ' + "[" * 10_000 + "]" * 10_000, 1)
    elif roll < 0.2:
        text = mutate(rng, text)
    return text


def torch_text(rng: random.Random) -> str:
    """A ``--torch`` argument: a target, maybe with hostile arguments."""
    target = rng.choice(["m:f", "pkg.mod:build", "file.py:a.b", ":", "m:", "m:1"])
    roll = rng.random()
    if roll < 0.3:
        return target + "(" + rng.choice(["0.5", "x=1", "'s'", "[1, (2, 3)]", "*a", "**k"]) + ")"
    if roll < 0.5:
        return target + "(" + "-" * rng.choice([10, 990, 5000]) + "1)"
    if roll < 0.6:
        return target + "(" + "1+" * rng.choice([10, 20_000]) + "1)"
    if roll < 0.7:
        return "x" * rng.choice([1000, 100_000])
    if roll < 0.8:
        return target + "(" + "[" * rng.choice([10, 600]) + ")"
    return target


@contextlib.contextmanager
def bounded(seconds: float, peak_bytes: int):
    """The block takes less than ``seconds`` and allocates less than ``peak_bytes``
    at its peak (tracemalloc): a blow-up fails, a slow case does not."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        yield
    finally:
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert elapsed < seconds, elapsed
    assert peak < peak_bytes, peak
