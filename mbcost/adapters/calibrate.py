"""``mbcost calibrate``: micro-benchmarks of each layer kind on this machine, and
the validation of the fitted models on whole networks.

Each benchmark is a one-layer spec (``input 28x28x64`` then ``conv 1x1x64x128
+bn +relu``), built as the zoo's rows are built (:mod:`mbcost.adapters.torch_modules`)
and timed alone with :func:`mbcost.adapters.profile.measure`: warm-up calls, then
calls until the point's share of the budget is spent (at least 5). The grid is
run in several rounds, each in its own shuffled order (seeded); in each round
the samples outside [Q1 - 3·IQR, Q3 + 3·IQR] are dropped and the median taken;
a shape's time is the median of its rounds' medians. The features of each shape
come from the spec's analysis (:func:`mbcost.attachments.latency.row_features`), so a
prediction uses exactly what was fitted.

Validation times whole zoo networks end to end (none of them is a benchmark
shape) and compares the measured median with the sum of the predicted rows.
"""

from __future__ import annotations

import datetime
import random
import statistics
import time

import torch

from mbcost.adapters.operators import OPSET
from mbcost.errors import MbcostError
from mbcost.attachments.latency import Calibration, Sample, errors_summary, fit, fit_network, predict, row_features, total_ms

#: (kind, spec lines after 'input HxWxC') -> the grid; each entry: (H, C, layer line with {c} and {n})
_GRID = {
    "pw": [(h, c, f"conv 1x1x{c}x{n} +bn +relu") for h, c, n in
           [(56, 32, 64), (56, 64, 64), (28, 64, 128), (28, 128, 128), (14, 128, 256), (14, 256, 256),
            (7, 256, 512), (7, 512, 512), (7, 512, 1024), (7, 1024, 1024), (28, 24, 144), (14, 96, 576),
            (56, 16, 96), (112, 16, 32), (14, 576, 96), (7, 960, 160)]],
    "conv": [(h, c, f"conv / s{s} 3x3x{c}x{n} +bn +relu") for h, c, n, s in
             [(224, 3, 32, 2), (160, 3, 16, 2), (56, 64, 64, 1), (56, 64, 128, 2), (28, 128, 128, 1),
              (28, 128, 256, 2), (14, 256, 256, 1), (7, 512, 512, 1), (112, 32, 32, 1), (56, 32, 64, 1),
              (14, 128, 128, 1), (28, 64, 64, 1)]],
    "dw": [(h, c, f"dw / s{s} {k}x{k}x{c} +bn +relu") for h, c, k, s in
           [(112, 32, 3, 1), (112, 64, 3, 2), (56, 128, 3, 1), (56, 128, 3, 2), (28, 256, 3, 1), (28, 256, 3, 2),
            (14, 512, 3, 1), (14, 512, 3, 2), (7, 1024, 3, 1), (56, 144, 3, 1), (28, 240, 5, 1), (14, 480, 5, 1),
            (14, 672, 5, 2), (7, 1152, 5, 1), (112, 96, 3, 2), (28, 144, 5, 2)]],
    "group": [(h, c, f"conv 3x3x{c}x{c} groups={g} +bn +relu") for h, c, g in
              [(56, 64, 4), (28, 128, 4), (14, 256, 8), (28, 64, 2), (14, 128, 2), (7, 256, 4)]],
    "fc": [(1, c, f"fc {c}x{n}") for c, n in
           [(1024, 1000), (1280, 1000), (512, 1000), (2048, 1000), (256, 1000), (1024, 100), (4096, 1000),
            (768, 10)]],
    "pool": [(h, c, line) for h, c, line in
             [(56, 64, "maxpool / s2 3x3 pad=1"), (112, 64, "maxpool / s2 3x3 pad=1"), (55, 96, "maxpool / s2 3x3"),
              (27, 256, "maxpool / s2 3x3"), (28, 192, "maxpool / s2 3x3 pad=1"), (14, 480, "maxpool / s2 3x3 pad=1"),
              (35, 288, "avgpool 3x3 pad=1"), (17, 768, "avgpool 3x3 pad=1")]],
    "gpool": [(h, c, line) for h, c, line in
              [(7, 1024, "avgpool 7x7 global"), (7, 1280, "avgpool 7x7 global"), (14, 512, "gap"), (28, 256, "gap"),
               (7, 512, "gap"), (13, 1000, "gap"), (7, 2048, "gap"), (7, 960, "gap")]],
    "se": [(h, c, f"se reduce=4 act={a} gate={g}") for h, c, a, g in
           [(112, 32, "silu", "sigmoid"), (56, 96, "silu", "sigmoid"), (28, 144, "silu", "sigmoid"),
            (14, 480, "silu", "sigmoid"), (7, 1152, "silu", "sigmoid"), (28, 72, "relu", "hsigmoid"),
            (14, 240, "relu", "hsigmoid"), (7, 576, "relu", "hsigmoid")]],
    "other": [(h, c, line) for h, c, line in
              [(112, 32, "relu"), (56, 64, "bn"), (28, 128, "relu6"), (14, 256, "hswish"), (56, 24, "silu"),
               (7, 1024, "relu"), (28, 40, "bn"), (14, 512, "flatten"), (112, 64, "relu"), (56, 128, "hswish"),
               (14, 96, "softmax"), (28, 256, "bn")]],
}

ROUNDS = 3
#: synthetic networks timed end to end to fit what isolated layers miss in a network (cold caches, new
#: tensors, dispatch between rows): none is a zoo network, so validation stays out of sample
CHAINS = 20


def chains(seed: int = 0) -> list[str]:
    """Synthetic MobileNet-style networks (spec texts), from as small as
    MobileNet 0.25-128 to as large as the zoo's 224-pixel networks: a strided
    stem, then 4 to 16 random blocks (depthwise-separable pairs that may double
    the width up to a cap of 64 to 1024 channels and halve the map, inverted
    residuals, squeeze-excite, max pooling, 3×3 convolutions), then a global
    pool and a classifier."""
    rng = random.Random(seed)
    out = []
    for k in range(CHAINS):
        side = rng.choice([96, 128, 160, 192, 224])
        c = rng.choice([16, 24, 32, 48])
        act = rng.choice(["relu", "relu6", "hswish"])
        widest = rng.choice([64, 128, 256, 512, 1024])
        lines = [f"model chain{k}", f"input {side}x{side}x3", f"conv / s2 3x3x3x{c} +bn +{act}"]
        side //= 2
        for _ in range(rng.randint(4, 16)):
            choice = rng.random()
            t = rng.choice([2, 4, 6])
            if choice < 0.45:
                grow = side > 7 and rng.random() < 0.5
                n = min(2 * c, widest) if grow else c
                stride = 2 if grow else 1
                lines += [f"dw / s{stride} 3x3x{c} +bn +{act}", f"conv 1x1x{c}x{n} +bn +{act}"]
                c, side = n, (side + stride - 1) // stride
            elif choice < 0.7 and c * t <= 1536:
                lines += ["residual {", f"  conv 1x1x{c}x{c * t} +bn +{act}", f"  dw 3x3x{c * t} +bn +{act}",
                          f"  conv 1x1x{c * t}x{c} +bn", "}"]
            elif choice < 0.8 and c * t <= 1536:
                lines += [f"conv 1x1x{c}x{c * t} +bn +{act}", f"se reduce=4 act={act if act != 'relu6' else 'relu'}",
                          f"conv 1x1x{c * t}x{c} +bn"]
            elif choice < 0.88 and side > 7:
                lines.append("maxpool / s2 3x3 pad=1")
                side = (side + 1) // 2
            else:
                lines.append(f"conv 3x3x{c}x{c} +bn +{act}")
        lines += ["gap", f"fc {c}x1000"]
        out.append("\n".join(lines) + "\n")
    return out


#: shapes of the grid timed again at a batch of more than one image: (kind, index in its list, batch)
_BATCHED = [("pw", 1, 4), ("pw", 3, 8), ("pw", 5, 4), ("pw", 8, 8), ("conv", 2, 4), ("conv", 4, 8),
            ("dw", 2, 4), ("dw", 6, 8), ("dw", 10, 4), ("fc", 0, 8), ("fc", 1, 32), ("gpool", 0, 8),
            ("pool", 0, 4), ("se", 2, 4), ("other", 0, 4), ("other", 4, 8)]


#: synthetic networks timed again at a batch of 2, 4 or 8 images (so that the correction sees a batch's
#: larger working set), each at most :data:`BATCHED_MULT_ADDS` Mult-Adds for the batch (a bounded time)
BATCHED_CHAINS = 6
BATCHED_MULT_ADDS = 1_200_000_000


def with_batches(analyses: list) -> list[tuple[object, int]]:
    """(analysis, batch) of every synthetic network at batch 1, then the first
    :data:`BATCHED_CHAINS` that fit the Mult-Adds bound at a batch of 2, 4, 8 in turn."""
    out = [(a, 1) for a in analyses]
    batches = [2, 4, 8]
    for a in analyses:
        if len(out) == len(analyses) + BATCHED_CHAINS:
            break
        batch = batches[(len(out) - len(analyses)) % len(batches)]
        if batch * a.total.mult_adds <= BATCHED_MULT_ADDS:
            out.append((a, batch))
    return out


def grid() -> list[tuple[str, str, int]]:
    """(kind, one-layer spec text, batch) of every benchmark shape."""
    def text(h, c, line):
        return f"model bench\ninput {h}x{h}x{c}\n{line}\n"

    out = [(kind, text(*point), 1) for kind, points in _GRID.items() for point in points]
    out += [(kind, text(*_GRID[kind][i]), batch) for kind, i, batch in _BATCHED]
    return out


def _robust_median(samples) -> float:
    """The median after dropping samples outside [Q1 - 3·IQR, Q3 + 3·IQR]."""
    s = sorted(samples)
    if len(s) < 4:
        return statistics.median(s)
    q1, q3 = s[len(s) // 4], s[(3 * len(s)) // 4]
    low, high = q1 - 3 * (q3 - q1), q3 + 3 * (q3 - q1)
    kept = [x for x in s if low <= x <= high] or s
    return statistics.median(kept)


class _TorchRunner:
    name = "torch"

    def __init__(self, threads: int) -> None:
        self.threads = threads

    def prepare(self, analysis, batch: int = 1):
        from mbcost.adapters.torch_modules import build_module

        instances = analysis.instances
        torch.manual_seed(0)
        net = build_module(instances, device="cpu", name=analysis.model)
        x0 = instances[0].input
        x = torch.randn(batch, x0.c, x0.h, x0.w)

        def run():
            with torch.inference_mode():
                net(x)
        return run

    def versions(self) -> dict:
        return {"torch": torch.__version__}

    def empty_call(self):
        """The cheapest call: an identity module on one number (the per-call overhead)."""
        identity, x = torch.nn.Identity(), torch.zeros(1)
        return lambda: identity(x)


class _OrtRunner:
    name = "onnxruntime"

    def __init__(self, threads: int) -> None:
        import importlib.util

        if importlib.util.find_spec("onnxruntime") is None:
            raise MbcostError("--runtime onnxruntime needs the onnxruntime package: pip install onnxruntime") \
                from None
        self.threads = threads

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

        def run():
            session.run(None, feed)
        return run

    def versions(self) -> dict:
        import onnxruntime

        return {"onnxruntime": onnxruntime.__version__, "torch": torch.__version__}

    def empty_call(self):
        """The cheapest call: ``session.run`` of a one-node Identity graph on one number."""
        import numpy as np
        import onnxruntime as ort
        from onnx import TensorProto, helper

        graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "identity",
                                  [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads, options.log_severity_level = self.threads, 1, 3
        session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        feed = {"x": np.zeros(1, dtype=np.float32)}
        return lambda: session.run(None, feed)


def runner(name: str, threads: int):
    if name == "torch":
        return _TorchRunner(threads)
    if name == "onnxruntime":
        return _OrtRunner(threads)
    raise MbcostError(f"unknown runtime '{name}': choose torch or onnxruntime")


def _time(run, seconds: float) -> list[float]:
    from mbcost.adapters.profile import Timer, measure

    return list(measure(run, Timer(torch.device("cpu")), warmup=3, budget=seconds, min_reps=5,
                        max_reps=5000).samples)


def _machine_constants(run_with) -> tuple[float, float]:
    """(memory bandwidth in bytes/s, the runtime's per-call overhead in seconds)."""
    src = torch.empty(8 * 2 ** 20, dtype=torch.float32).normal_()  # 32 MiB
    dst = torch.empty_like(src)
    copy = statistics.median(_time(lambda: dst.copy_(src), 0.3))
    call = statistics.median(_time(run_with.empty_call(), 0.1))
    return 2 * src.numel() * 4 / copy, call


#: The peak-rate probe: a 1x1 convolution 512 -> 512 on a 28 x 28 map (205.5 M MACs),
#: large enough to be compute-bound on any CPU (intensity ~ 170 MACs per fp32 byte).
PEAK_PROBE = "model peak\ninput 28x28x512\nconv 1x1x512x512\n"


def peak_mac_rate(run_with, seconds: float = 0.5) -> float:
    """This machine's peak MAC rate (MACs/s, fp32) in the runtime being calibrated,
    at its thread count: :data:`PEAK_PROBE`'s Mult-Adds over its fastest timed run."""
    from mbcost.core.network import Network
    from mbcost.results.analysis import analyze

    probe = analyze(Network.from_text(PEAK_PROBE, source="<peak>"))
    times = _time(run_with.prepare(probe, 1), seconds)
    return probe.total.mult_adds / min(times)


def in_rounds(runs: list, seconds: float, rng: random.Random, progress=None, labels=None, total: int | None = None,
              done: int = 0) -> list[float]:
    """Each of ``runs`` timed in :data:`ROUNDS` rounds, each round in its own
    shuffled order, ``seconds`` in all: per round the median after dropping
    outliers, then the median of the rounds (a slow spell of the machine lands in
    one round of a few runs, not in every round of one run)."""
    share = seconds / (ROUNDS * len(runs))
    medians: list[list[float]] = [[] for _ in runs]
    total = total or ROUNDS * len(runs)
    for _ in range(ROUNDS):
        order = list(range(len(runs)))
        rng.shuffle(order)
        for i in order:
            medians[i].append(_robust_median(_time(runs[i], share)))
            done += 1
            if progress:
                progress(done, total, labels[i] if labels else "")
    return [statistics.median(m) for m in medians]


def calibrate(*, runtime: str = "torch", threads: int = 1, budget: float = 120.0, seed: int = 0,
              progress=None) -> Calibration:
    """Measure the grid on this machine and fit the models."""
    from mbcost.results.analysis import analyze
    from mbcost.adapters.machine import cpu_name
    from mbcost.core.network import Network

    from mbcost import options

    options.threads(threads), options.budget(budget)
    run_with = runner(runtime, threads)
    started = time.perf_counter()
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        points = []
        for kind, text, batch in grid():
            analysis = analyze(Network.from_text(text, source="<benchmark>"))
            (found, features), = row_features(analysis, batch)
            if found != kind:
                raise AssertionError(f"benchmark {text!r} is a {found} layer, not a {kind} one")
            label = text.splitlines()[-1] + (f" (batch {batch})" if batch != 1 else "")
            points.append((kind, label, analysis, features, run_with.prepare(analysis, batch), batch))
        rng = random.Random(seed)
        nets = with_batches([analyze(Network.from_text(text, source="<chain>")) for text in chains(seed)])
        total = ROUNDS * (len(points) + len(nets))
        times = in_rounds([p[4] for p in points], budget * 0.8, rng, progress,
                          [p[2].layers[0].type for p in points], total)
        bandwidth, overhead = _machine_constants(run_with)
        peak = peak_mac_rate(run_with)
        samples = [Sample(kind, features, seconds, label, batch)
                   for (kind, label, _, features, _, batch), seconds in zip(points, times)]
        # the models are fitted at batch 1; the shapes timed at a larger batch only check them
        result = Calibration(machine=cpu_name(), runtime=run_with.name, threads=threads,
                             versions=run_with.versions(), models=fit([x for x in samples if x.batch == 1]),
                             bandwidth_bytes_per_s=bandwidth, peak_macs_per_s=peak,
                             call_overhead_s=overhead, created=datetime.date.today().isoformat(), samples=samples)
        # the in-network correction, from synthetic networks timed whole:
        # t = scale * sum(rows) + per_row * rows + per_byte * bytes moved
        measured = in_rounds([run_with.prepare(a, b) for a, b in nets], budget * 0.15, rng, progress,
                             [a.model for a, _ in nets], total, done=ROUNDS * len(points))
        ones = [(a, m) for (a, b), m in zip(nets, measured) if b == 1]
        result.network = fit_network([(sum(predict(a, result)), len(a.layers), sum(f[2] for _, f in row_features(a)), m)
                                      for a, m in ones])
        result.batch_check = {
            "layers": errors_summary([(result.predict_row(x.kind, x.features), x.seconds)
                                      for x in samples if x.batch != 1]),
            "networks": errors_summary([(total_ms(a, result, b) / 1e3, m)
                                        for (a, b), m in zip(nets, measured) if b != 1]),
            "note": "timed at a batch of more than one image and not fitted: how the batch-1 models predict them"}
    finally:
        torch.set_num_threads(previous)
    result.seconds_spent = time.perf_counter() - started
    return result


#: whole networks for validation: none of them is a benchmark shape
VALIDATION = [("mobilenet_v1", a, r, 1) for a in (1, 0.75, 0.5, 0.25) for r in (224, 160)] + [
    ("mobilenet_v2", 1, 224, 1), ("mobilenet_v2", 0.5, 160, 1), ("resnet18", 1, 224, 1), ("efficientnet_b0", 1, 224, 1),
    ("shufflenet_v2_x1_0", 1, 224, 1), ("mnasnet1_0", 1, 224, 1), ("mobilenet_v3_large", 1, 224, 1),
    ("squeezenet", 1, 224, 1), ("mobilenet_v1", 0.5, 160, 8), ("mobilenet_v2", 1, 224, 4)]


def validate(calibration: Calibration, *, budget: float = 60.0, seed: int = 0, progress=None) -> list[dict]:
    """Each validation network: predicted and measured milliseconds (end to end,
    timed in shuffled rounds as the calibration's shapes are), and the relative error."""
    from mbcost.results.analysis import analyze

    run_with = runner(calibration.runtime, calibration.threads)
    previous = torch.get_num_threads()
    torch.set_num_threads(calibration.threads)
    out = []
    try:
        analyses = [analyze(name, alpha=alpha, resolution=res) for name, alpha, res, _ in VALIDATION]
        measured = in_rounds([run_with.prepare(a, v[3]) for a, v in zip(analyses, VALIDATION)], budget,
                             random.Random(seed), progress, [a.model for a in analyses])
        for (name, alpha, res, batch), analysis, seconds in zip(VALIDATION, analyses, measured):
            predicted = total_ms(analysis, calibration, batch)
            out.append({"model": name, "alpha": alpha, "resolution": res, "batch": batch,
                        "mult_adds": analysis.total.mult_adds, "predicted_ms": predicted,
                        "measured_ms": seconds * 1e3, "error": (predicted - 1e3 * seconds) / (1e3 * seconds)})
    finally:
        torch.set_num_threads(previous)
    return out
