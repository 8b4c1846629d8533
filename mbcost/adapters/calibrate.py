"""``mbcost calibrate``: time synthetic networks on this machine, fit the latency
model (:mod:`mbcost.attachments.latency`), and validate it on networks it never saw.

**What is timed** (docs/latency.md). :data:`SYNTHETIC` random networks
(:func:`synthetic_networks`: MobileNet v1/v2/v3-, EfficientNet-, ShuffleNet-,
ResNet- and SqueezeNet-style stacks of random widths, resolutions 96 to 224 and
batches 1 to 8; none of them a zoo network), each built as the zoo's rows are
(:mod:`mbcost.adapters.torch_modules`) and timed two ways under the protocol of
:mod:`mbcost.adapters.timing` (interleaved, shuffled rounds; the least of the
rounds' medians; one thread: this thread's CPU time):

* whole: the network's forward call, as a user would time it;
* row by row: passes with a timestamp after every row, so that each row's time
  is what it costs inside the network.

The rows' times fit the call kinds' coefficients (:mod:`mbcost.attachments.latency_fit`),
the whole times fit the in-network correction (scale and per-pass time). Every
5th network is held out of both fits and the file says how the model did on them.

**Validation** (``--validate``) times :data:`VALIDATION` (MobileNet v1, v2 and v3
at widths 0.25 to 1 and resolutions 128 to 224, at batch 1 and 4, and other zoo
networks) and the torch models given to it (a user's model is predicted from
its traced calls, as ``table --torch ... --latency`` predicts it), end to end,
under the same protocol, and prints each one's measured spread beside its error.
"""

from __future__ import annotations

import datetime
import random
import statistics
import time

import torch

from mbcost.adapters.operators import OPSET
from mbcost.adapters.timing import Measured, clock_for, interleaved, steady_allocator
from mbcost.attachments.latency import (Calibration, calls_features_total, errors_summary, predict_calls,
                                        predict_latency)
from mbcost.attachments.latency_ops import network_calls
from mbcost.errors import MbcostError

#: synthetic networks timed to fit the model (every 5th held out)
SYNTHETIC = 100
HELD_OUT_EVERY = 5
ROUNDS = 5
#: the largest synthetic network, in Mult-Adds per pass of its batch (bounds the calibration's time)
MAX_MULT_ADDS = 700_000_000


def _width(c: float) -> int:
    return max(8, int(round(c / 8)) * 8)


def synthetic_networks(seed: int = 0, count: int = SYNTHETIC) -> list[tuple[str, str, int]]:
    """(name, spec text, batch) of ``count`` random networks: a style (MobileNet
    v1, v2, v3, EfficientNet, ShuffleNet V2, ResNet, SqueezeNet, or a mix), a width
    multiplier 0.25 to 1.4, a resolution 96 to 224, a batch (1 in half of them, else
    2, 4 or 8), at most :data:`MAX_MULT_ADDS` Mult-Adds per pass."""
    from mbcost.core.network import Network
    from mbcost.results.analysis import analyze

    rng = random.Random(seed)
    out = []
    while len(out) < count:
        k = len(out)
        style = rng.choice(["v1", "v2", "v3", "effnet", "shuffle", "resnet", "squeeze", "mix", "mix"])
        alpha = rng.choice([0.25, 0.35, 0.5, 0.75, 1.0, 1.4])
        side = rng.choice([96, 112, 128, 144, 160, 176, 192, 208, 224])
        batch = 1 if rng.random() < 0.5 else rng.choice([2, 4, 8])
        text = _network(rng, f"synthetic{k}_{style}", style, alpha, side)
        try:
            analysis = analyze(Network.from_text(text, source="<synthetic>"))
        except MbcostError:
            continue
        if analysis.total.mult_adds * batch > MAX_MULT_ADDS:
            if analysis.total.mult_adds > MAX_MULT_ADDS:
                continue
            batch = 1
        out.append((f"synthetic{k}_{style}_b{batch}", text, batch))
    return out


def _network(rng: random.Random, name: str, style: str, alpha: float, side: int) -> str:
    act = {"v1": "relu", "v2": "relu6", "v3": "hswish", "effnet": "silu", "shuffle": "relu", "resnet": "relu",
           "squeeze": "relu"}.get(style) or rng.choice(["relu", "relu6", "hswish", "silu"])
    c = _width(rng.choice([16, 24, 32, 48, 64]) * alpha)
    lines = [f"model {name}", f"input {side}x{side}x3"]
    s = side
    if style == "squeeze":
        lines.append(f"conv / s2 3x3x3x{c} +relu")
    else:
        lines.append(f"conv / s2 3x3x3x{c} +bn +{act}")
    s = (s + 1) // 2
    if style in ("resnet", "shuffle", "squeeze") or rng.random() < 0.15:
        lines.append("maxpool / s2 3x3 pad=1")
        s = (s + 1) // 2
    widest = _width(rng.choice([256, 512, 768, 1024]) * alpha)
    blocks = rng.randint(6, 18)
    for j in range(blocks):
        kind = style if style != "mix" else rng.choice(["v1", "v2", "v3", "effnet", "shuffle", "resnet", "squeeze",
                                                         "group", "pool", "act", "attention"])
        if kind == "attention" and s > 16:
            kind = "v2"
        down = s > 4 and rng.random() < 0.3
        n = min(_width(c * 2), widest) if down else c
        stride = 2 if down else 1
        if kind == "v1":
            lines += [f"dw / s{stride} 3x3x{c} +bn +{act}", f"conv 1x1x{c}x{n} +bn +{act}"]
        elif kind in ("v2", "v3", "effnet"):
            t = rng.choice([3, 4, 6]) if kind != "v2" else 6
            k = rng.choice([3, 5]) if kind != "v2" else 3
            e = _width(c * t)
            a = act if kind != "v3" else rng.choice(["relu", "hswish"])
            body = [f"conv 1x1x{c}x{e} +bn +{a}", f"dw / s{stride} {k}x{k}x{e} +bn +{a}"]
            if kind == "v3" and rng.random() < 0.5:
                body.append("se reduce=4 act=relu gate=hsigmoid")
            if kind == "effnet":
                body.append("se reduce=24 act=silu gate=sigmoid" if e >= 24 else "se reduce=4 act=silu gate=sigmoid")
            body.append(f"conv 1x1x{e}x{n} +bn")
            if stride == 1 and n == c:
                lines += ["residual {"] + [f"  {b}" for b in body] + ["}"]
            else:
                lines += body
        elif kind == "shuffle":
            if c % 16:
                c = n = _width(c + 8) if (c + 8) % 16 == 0 else c
            if c % 16:
                lines.append(f"conv 1x1x{c}x{c + 8} +bn +relu")
                c = n = c + 8
            half = c // 2
            if down:
                n = min(_width(c * 2), widest)
                n -= n % 16
                h2 = n // 2
                lines += ["concat {", f"  branch left{j} {{", f"    dw / s2 3x3x{c} +bn", f"    conv 1x1x{c}x{h2} +bn +relu",
                          "  }", f"  branch right{j} {{", f"    conv 1x1x{c}x{h2} +bn +relu", f"    dw / s2 3x3x{h2} +bn",
                          f"    conv 1x1x{h2}x{h2} +bn +relu", "  }", "}", "shuffle groups=2"]
            else:
                n = c
                lines += ["concat {", f"  branch left{j} {{ split parts=2 take=1 }}", f"  branch right{j} {{",
                          "    split parts=2 take=2", f"    conv 1x1x{half}x{half} +bn +relu", f"    dw 3x3x{half} +bn",
                          f"    conv 1x1x{half}x{half} +bn +relu", "  }", "}", "shuffle groups=2"]
        elif kind == "resnet":
            if stride == 1 and n == c:
                lines += ["residual {", f"  conv 3x3x{c}x{c} +bn +relu", f"  conv 3x3x{c}x{c} +bn", "}", "relu"]
            else:
                lines += [f"conv / s{stride} 3x3x{c}x{n} +bn +relu"]
        elif kind == "squeeze":
            sq = _width(c / 8)
            e = _width(n / 2)
            lines += [f"conv 1x1x{c}x{sq} +relu", "concat {", f"  branch e1_{j} {{ conv 1x1x{sq}x{e} +relu }}",
                      f"  branch e3_{j} {{ conv 3x3x{sq}x{e} +relu }}", "}"]
            n = 2 * e
            if down:
                lines.append("maxpool / s2 3x3 pad=1")
        elif kind == "group":
            g = rng.choice([2, 4, 8])
            n = n - n % g if n % g else n
            lines += [f"conv / s{stride} 3x3x{c}x{n} groups={g} +bn +relu"] if c % g == 0 else \
                [f"conv / s{stride} 3x3x{c}x{n} +bn +relu"]
        elif kind == "attention":  # MobileNetV4's hybrid block: norm, attention, LayerScale, shortcut
            heads, key = rng.choice([2, 4, 8]), rng.choice([16, 32, 64])
            which = (f"mqa {c}x{c} heads={heads} key={key} kv_stride={rng.choice([1, 2])}" if rng.random() < 0.6
                     else f"mhsa {c}x{c} heads={heads} key={key}")
            lines += ["residual {", "  bn", f"  {which}", "  layerscale", "}"]
            n, down = c, False
        elif kind == "pool":
            lines.append("maxpool / s2 3x3 pad=1" if down else "avgpool 3x3 pad=1")
            n = c
        else:  # standalone batch norm and activations
            lines += ["bn", rng.choice(["relu", "relu6", "hswish", "silu", "sigmoid"])]
            n = c
            stride = 1
        c = n
        if down and kind not in ("act",):
            s = (s + 1) // 2
    if rng.random() < 0.6:
        last = _width(rng.choice([640, 960, 1280]) * alpha)
        lines.append(f"conv 1x1x{c}x{last} +bn +{act}")
        c = last
    lines.append("gap")
    if rng.random() < 0.3:
        lines.append("dropout p=0.2")
    lines.append(f"fc {c}x{rng.choice([10, 100, 1000])}")
    if rng.random() < 0.3:
        lines.append("softmax")
    return "\n".join(lines) + "\n"


# -- runners -------------------------------------------------------------------------------------------------------

class _TorchRunner:
    name = "torch"
    rows = True  # rows can be timed inside a pass

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self.clock = clock_for(threads)

    def prepare(self, analysis, batch: int = 1):
        """(whole pass, instrumented pass returning each row's seconds) of a spec analysis."""
        from mbcost.adapters.torch_modules import build_module
        from mbcost.core.graph import Graph

        instances = analysis.instances
        torch.manual_seed(0)
        net = build_module(instances, device="cpu", name=analysis.model)
        x0 = instances[0].input
        x = torch.randn(batch, x0.c, x0.h, x0.w)
        rows = [net.rows[name] for name in net.row_names]
        graph = Graph([tuple(inst.sources) for inst in instances])
        clock = time.thread_time_ns if self.clock == "cpu" else time.perf_counter_ns

        def whole():
            with torch.inference_mode():
                net(x)

        def by_row():
            marks = [0] * (len(rows) + 1)

            def mark(i: int) -> None:
                marks[i + 1] = clock()

            with torch.inference_mode():
                marks[0] = clock()
                graph.run(lambda i, inputs: rows[i](*inputs), x, after=mark)
            return [(marks[i + 1] - marks[i]) / 1e9 for i in range(len(rows))]
        return whole, by_row

    def prepare_module(self, model, args):
        def whole():
            with torch.inference_mode():
                model(*args)
        return whole

    def versions(self) -> dict:
        return {"torch": torch.__version__}


class _OrtRunner:
    name = "onnxruntime"
    rows = False  # only whole passes: the model is fitted to whole networks

    def __init__(self, threads: int) -> None:
        import importlib.util

        if importlib.util.find_spec("onnxruntime") is None:
            raise MbcostError("--runtime onnxruntime needs the onnxruntime package: pip install onnxruntime") \
                from None
        self.threads = threads
        self.clock = clock_for(threads)

    def prepare(self, analysis, batch: int = 1):
        import numpy as np
        import onnxruntime as ort

        from mbcost.adapters.onnx_export import spec_to_onnx

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        session = ort.InferenceSession(spec_to_onnx(analysis, batch), options, providers=["CPUExecutionProvider"])
        x0 = analysis.input
        feed = {session.get_inputs()[0].name: np.random.default_rng(0).standard_normal(
            (batch, x0.c, x0.h, x0.w)).astype(np.float32)}

        def whole():
            session.run(None, feed)
        return whole, None

    def prepare_module(self, model, args):
        raise MbcostError("--validate --torch goes with a torch calibration (onnxruntime runs exported specs)")

    def versions(self) -> dict:
        import onnxruntime

        return {"onnxruntime": onnxruntime.__version__, "torch": torch.__version__, "onnx_opset": str(OPSET)}


def runner(name: str, threads: int):
    if name == "torch":
        return _TorchRunner(threads)
    if name == "onnxruntime":
        return _OrtRunner(threads)
    raise MbcostError(f"unknown runtime '{name}': choose torch or onnxruntime")


# -- machine constants -----------------------------------------------------------------------------------------------

def _least_time(fn, seconds: float) -> float:
    fn()
    best, spent = float("inf"), 0.0
    while spent < seconds:
        t0 = time.perf_counter()
        fn()
        t = time.perf_counter() - t0
        best, spent = min(best, t), spent + t
    return best


def bandwidth() -> float:
    """Memory bandwidth in bytes/s: a 32 MiB copy, the fastest of its timed runs."""
    src = torch.empty(8 * 2 ** 20, dtype=torch.float32).normal_()
    dst = torch.empty_like(src)
    return 2 * src.numel() * 4 / _least_time(lambda: dst.copy_(src), 0.3)


#: The peak-rate probe: a 1x1 convolution 512 -> 512 on a 28 x 28 map (205.5 M MACs),
#: large enough to be compute-bound on any CPU (intensity ~ 170 MACs per fp32 byte).
PEAK_PROBE = "model peak\ninput 28x28x512\nconv 1x1x512x512\n"


def peak_mac_rate(run_with, seconds: float = 0.5) -> float:
    """This machine's peak MAC rate (MACs/s, fp32) in the runtime being calibrated,
    at its thread count: :data:`PEAK_PROBE`'s Mult-Adds over its fastest timed run."""
    from mbcost.core.network import Network
    from mbcost.results.analysis import analyze

    probe = analyze(Network.from_text(PEAK_PROBE, source="<peak>"))
    return probe.total.mult_adds / _least_time(run_with.prepare(probe, 1)[0], seconds)


# -- per-call overheads ---------------------------------------------------------------------------------------------

def call_probes() -> dict:
    """kind -> the cheapest call of that kind (a zero-argument callable): its time is
    the kind's per-call overhead, whatever the call's size (dispatch, checks, the
    output's allocation)."""
    import torch.nn.functional as F

    one = torch.zeros(1, 1, 1, 1)
    two = torch.zeros(1, 2, 3, 3)
    four = torch.zeros(1, 4, 3, 3)
    w1, w3, wd, wg = torch.zeros(1, 1, 1, 1), torch.zeros(1, 1, 3, 3), torch.zeros(2, 1, 3, 3), torch.zeros(4, 2, 3, 3)
    vec, mat = torch.zeros(1, 1), torch.zeros(1, 1)
    mean, var, w, b = torch.zeros(1), torch.ones(1), torch.ones(1), torch.zeros(1)
    identity = torch.nn.Identity()
    return {
        "pw": lambda: F.conv2d(one, w1), "conv": lambda: F.conv2d(one, w3, padding=1),
        "dw": lambda: F.conv2d(two, wd, padding=1, groups=2), "group": lambda: F.conv2d(four, wg, padding=1, groups=2),
        "fc": lambda: F.linear(vec, mat), "matmul": lambda: torch.matmul(vec, mat),
        "bn": lambda: F.batch_norm(one, mean, var, w, b), "norm": lambda: F.layer_norm(one, (1,)),
        "act": lambda: F.relu(one), "act_math": lambda: F.hardswish(one), "eltwise": lambda: one + one,
        "pool": lambda: F.max_pool2d(two, 3), "gpool": lambda: F.adaptive_avg_pool2d(two, 1),
        "copy": lambda: torch.cat((one, one), 1), "view": lambda: one.view(1, 1), "module": lambda: identity(one),
        "other": lambda: torch.cumsum(one, 0),
    }


def call_overheads(clock: str, seconds: float = 2.0, seed: int = 0) -> dict[str, float]:
    """Each call kind's per-call overhead (seconds): its probe under the timing
    protocol, the probe calling itself 100 times per timed call (a single call is
    near the clock's resolution)."""
    probes = call_probes()

    def hundred(fn):
        def run():
            for _ in range(100):
                fn()
        return run
    with torch.inference_mode():
        measured = interleaved([hundred(f) for f in probes.values()], budget=seconds, rounds=ROUNDS, clock=clock,
                               seed=seed, min_calls=5)
    return {kind: m.seconds / 100 for kind, m in zip(probes, measured)}


# -- calibrate -------------------------------------------------------------------------------------------------------

def calibrate(*, runtime: str = "torch", threads: int = 1, budget: float = 120.0, seed: int = 0,
              progress=None, count: int = SYNTHETIC) -> Calibration:
    """Time the synthetic networks on this machine and fit the model."""
    from mbcost import options
    from mbcost.adapters.machine import cpu_name, l2_cache_bytes
    from mbcost.attachments.latency_fit import fit_coefficients, fit_correction
    from mbcost.core.network import Network
    from mbcost.results.analysis import analyze

    options.threads(threads), options.budget(budget)
    run_with = runner(runtime, threads)
    allocator = steady_allocator()  # before anything is built: every timing in the same allocator state
    started = time.perf_counter()
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        nets = [(name, analyze(Network.from_text(text, source=f"<{name}>")), batch)
                for name, text, batch in synthetic_networks(seed, count)]
        prepared = [run_with.prepare(a, b) for _, a, b in nets]
        l2 = l2_cache_bytes()
        row_times: list[list[list[list[float]]]] = [[[] for _ in range(ROUNDS)] for _ in nets]

        def keep(i, r, per_row):  # what an instrumented pass returned (a whole pass returns None)
            if per_row is not None:
                row_times[i - len(nets)][r].append(per_row)

        runs = [p[0] for p in prepared]
        labels = [n for n, _, _ in nets]
        if run_with.rows:
            runs += [p[1] for p in prepared]
            labels += [f"{n} (row by row)" for n, _, _ in nets]
        measured = interleaved(runs, budget=budget * 0.9, rounds=ROUNDS, clock=run_with.clock, seed=seed,
                               progress=progress, labels=labels,
                               step=keep if run_with.rows else None)
        whole = measured[:len(nets)]
        held = [i % HELD_OUT_EVERY == HELD_OUT_EVERY - 1 for i in range(len(nets))]
        calls = [network_calls(a, b) for _, a, b in nets]
        design, targets, weights = [], [], []
        for i, (_, a, b) in enumerate(nets):
            if held[i]:
                continue
            if run_with.rows:
                # each row: the median of its times over every instrumented pass, scaled so that the rows add up
                # to the whole pass's figure (a sum of rows' least times would be biased low)
                passes = [p for rnd in row_times[i] for p in rnd]
                per_row = [statistics.median(p[j] for p in passes) for j in range(len(calls[i]))]
                share = whole[i].seconds / sum(per_row) if sum(per_row) > 0 else 1.0
                per_row = [t * share for t in per_row]
                for row_calls, t in zip(calls[i], per_row):
                    design.append(calls_features_total(row_calls, l2))
                    targets.append(t)
                    weights.append(1.0 / whole[i].seconds)
            else:
                design.append(calls_features_total([c for row in calls[i] for c in row], l2))
                targets.append(whole[i].seconds)
                weights.append(1.0 / whole[i].seconds)
        overheads = call_overheads(run_with.clock, seed=seed) if run_with.name == "torch" else {}
        if overheads:
            # each call costs at least its kind's measured overhead (the cheapest call of the kind): the fit
            # explains what the rows take beyond it, a call's extra cost in a network included (never negative)
            targets = [t - sum(v * overheads[k.split(":")[0]] for k, v in row.items() if k.endswith(":calls"))
                       for row, t in zip(design, targets)]
        flat = fit_coefficients(design, targets, weights)
        seen = {k.split(":")[0] for row in design for k in row}
        coef: dict[str, dict[str, float]] = {kind: {"calls": overheads[kind]} for kind in seen if kind in overheads}
        for key, value in flat.items():
            kind, feature = key.split(":")
            coef.setdefault(kind, {})[feature] = coef.get(kind, {}).get(feature, 0.0) + value
        result_overheads = {k: overheads[k] for k in sorted(seen) if k in overheads}
        result = Calibration(machine=cpu_name(), runtime=run_with.name, threads=threads,
                             versions=run_with.versions(), coef=coef, l2_bytes=l2, clock=run_with.clock,
                             created=datetime.date.today().isoformat())
        fitted = [i for i in range(len(nets)) if not held[i]]
        sums = [sum(result.row_seconds(row) for row in calls[i]) for i in range(len(nets))]
        result.correction = fit_correction([sums[i] for i in fitted], [whole[i].seconds for i in fitted])
        predicted = [predict_calls(calls[i], result, nets[i][2]).total_ms / 1e3 for i in range(len(nets))]
        result.fit = {
            "networks": len(nets), "rows": len(design), "weighting": "each row by 1 / its network's time",
            "fitted": errors_summary([(predicted[i], whole[i].seconds) for i in fitted]),
            "heldout": errors_summary([(predicted[i], whole[i].seconds) for i in range(len(nets)) if held[i]]),
            "clock_ratio_wall_over_cpu": statistics.median(m.wall / m.cpu for m in whole if m.cpu > 0),
            "measured_call_overheads_s": result_overheads,
            "allocator": allocator,
        }
        result.networks = [{"name": name, "batch": b, "mult_adds": a.total.mult_adds, "rows": len(a.layers),
                            "measured_ms": 1e3 * m.seconds, "spread": m.spread, "predicted_ms": 1e3 * p,
                            "role": "held out" if h else "fitted"}
                           for (name, a, b), m, p, h in zip(nets, whole, predicted, held)]
        result.validation = [{"model": name, "alpha": alpha, "resolution": res, "batch": batch}
                             for name, alpha, res, batch in VALIDATION]
        result.bandwidth_bytes_per_s = bandwidth()
        result.peak_macs_per_s = peak_mac_rate(run_with)
    finally:
        torch.set_num_threads(previous)
    result.seconds_spent = time.perf_counter() - started
    return result


# -- validate ----------------------------------------------------------------------------------------------------

#: held-out configurations (model, alpha, resolution, batch): none is a synthetic network
VALIDATION = [
    ("mobilenet_v1", 0.25, 128, 1), ("mobilenet_v1", 0.5, 160, 1), ("mobilenet_v1", 0.75, 192, 1),
    ("mobilenet_v1", 1.0, 224, 1), ("mobilenet_v1", 0.5, 128, 4), ("mobilenet_v1", 0.75, 160, 4),
    ("mobilenet_v2", 0.35, 128, 1), ("mobilenet_v2", 0.5, 160, 1), ("mobilenet_v2", 0.75, 192, 1),
    ("mobilenet_v2", 1.0, 224, 1), ("mobilenet_v2", 0.5, 160, 4), ("mobilenet_v2", 0.75, 128, 4),
    ("mobilenet_v3_large", 0.75, 160, 1), ("mobilenet_v3_large", 1.0, 224, 1), ("mobilenet_v3_large", 0.5, 192, 4),
    ("mobilenet_v3_small", 0.75, 128, 1), ("mobilenet_v3_small", 1.0, 224, 1), ("mobilenet_v3_small", 0.5, 160, 4),
    ("shufflenet_v2_x0_5", 1.0, 224, 1), ("shufflenet_v2_x1_0", 1.0, 224, 1), ("resnet18", 1.0, 160, 1),
    ("squeezenet", 1.0, 224, 1), ("efficientnet_b0", 1.0, 224, 1), ("mnasnet0_5", 1.0, 224, 1),
    ("mobilenet_v4_conv_small", 1.0, 224, 1),
]


#: a user's model in the default validation when its package is installed: (label, factory, input size)
THIRD_PARTY = [("efficientnet_pytorch EfficientNet-B0", "efficientnet_pytorch:EfficientNet.from_name('efficientnet-b0')",
                (1, 3, 224, 224))]


#: the calibration's own held-out networks timed again among the validation's, to say how much faster or
#: slower the machine runs now than when it was calibrated (never used to correct an error)
ANCHORS = 5


def validate(calibration: Calibration, *, budget: float = 60.0, seed: int = 0, progress=None,
             torch_models: list[str] = ()) -> tuple[list[dict], dict]:
    """Each validation configuration, and each torch model: predicted and measured
    milliseconds end to end under the timing protocol, the measured spread, and the
    error; and the machine's drift since the calibration (:data:`ANCHORS` of its
    held-out synthetic networks timed again, interleaved with the rest: their times
    now over their times then, or {} when they cannot be rebuilt)."""
    from mbcost.results.analysis import analyze

    if torch_models and calibration.runtime != "torch":
        raise MbcostError("--validate --torch goes with a torch calibration (onnxruntime runs exported specs)")
    run_with = runner(calibration.runtime, calibration.threads)
    allocator = steady_allocator()
    previous = torch.get_num_threads()
    torch.set_num_threads(calibration.threads)
    out = []
    try:
        items = []  # (record, run, predicted ms)
        for name, alpha, res, batch in VALIDATION:
            analysis = analyze(name, alpha=alpha, resolution=res)
            record = {"model": name, "alpha": alpha, "resolution": res, "batch": batch, "route": "spec",
                      "mult_adds": analysis.total.mult_adds}
            items.append((record, run_with.prepare(analysis, batch)[0],
                          predict_latency(analysis, calibration, batch).total_ms))
        if calibration.runtime == "torch":
            for label, target in _torch_targets(torch_models):
                from mbcost.adapters.torch_model import build_for_export
                from mbcost.sources.torch_factory import table as torch_table

                table = torch_table(target)
                model, shape = build_for_export(target, None)  # its own copy, on the CPU
                model.eval()
                torch.manual_seed(0)
                args = (torch.randn(shape),)
                record = {"model": label, "alpha": 1.0, "resolution": int(args[0].shape[-1]), "batch": 1,
                          "route": "torch", "mult_adds": table.total.mult_adds}
                items.append((record, run_with.prepare_module(model, args),
                              predict_latency(table, calibration, 1).total_ms))
        anchors = _anchors(calibration)
        runs = [i[1] for i in items] + [run_with.prepare(a, b)[0] for _, a, b, _ in anchors]
        measured: list[Measured] = interleaved(runs, budget=budget, rounds=ROUNDS, clock=run_with.clock, seed=seed,
                                               progress=progress,
                                               labels=[i[0]["model"] for i in items] + [n for n, *_ in anchors])
        now = measured[len(items):]
        drift = {"anchors": [{"name": name, "then_ms": then, "now_ms": 1e3 * m.seconds}
                             for (name, _, _, then), m in zip(anchors, now)],
                 "median_ratio": statistics.median(1e3 * m.seconds / a[3] for a, m in zip(anchors, now))} \
            if anchors else {}
        for (record, _, predicted), m in zip(items, measured):
            record.update(predicted_ms=predicted, measured_ms=1e3 * m.seconds, spread=m.spread,
                          wall_ms=1e3 * m.wall, cpu_ms=1e3 * m.cpu, clock=m.clock, allocator=allocator,
                          error=(predicted - 1e3 * m.seconds) / (1e3 * m.seconds))
            out.append(record)
    finally:
        torch.set_num_threads(previous)
    return out, drift


def _anchors(calibration: Calibration) -> list[tuple[str, object, int, float]]:
    """(name, analysis, batch, measured ms then) of up to :data:`ANCHORS` of the calibration's held-out
    networks, from the smallest to the largest, rebuilt from their seed (none when the file's networks are
    not this mbcost's synthetic networks)."""
    from mbcost.core.network import Network
    from mbcost.results.analysis import analyze

    listed = [n for n in calibration.networks if isinstance(n, dict)]
    try:
        rebuilt = synthetic_networks(0, len(listed))
    except MbcostError:
        return []
    if [name for name, _, _ in rebuilt] != [n.get("name") for n in listed]:
        return []
    held = sorted((n["measured_ms"], i) for i, n in enumerate(listed)
                  if n.get("role") == "held out" and isinstance(n.get("measured_ms"), (int, float)))
    if not held:
        return []
    picks = sorted({held[round(k * (len(held) - 1) / max(ANCHORS - 1, 1))][1] for k in range(ANCHORS)})
    return [(rebuilt[i][0], analyze(Network.from_text(rebuilt[i][1], source=f"<{rebuilt[i][0]}>")), rebuilt[i][2],
             float(listed[i]["measured_ms"])) for i in picks]


def _torch_targets(given: list[str]) -> list[tuple[str, str]]:
    import importlib.util

    targets = [(t, t) for t in given]
    if not given:
        targets += [(label, target) for label, target, _ in THIRD_PARTY
                    if importlib.util.find_spec(target.split(":")[0]) is not None]
    return targets
