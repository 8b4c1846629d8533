"""``mbcost check``: the symbolic count against a real PyTorch build.

For each network and configuration, :func:`check_network` evaluates the spec,
builds it as a ``torch.nn.Module`` (:mod:`mbcost.adapters.torch_modules`, module
names = spec layer names) and compares, row by row:

* Mult-Adds: (a) the symbolic core, (b) fvcore's ``FlopCountAnalysis`` per module
  and (c) PyTorch's ``FlopCounterMode`` per module (FLOPs halved; not applicable
  to rows whose count includes batch norm, pooling or activations, which it
  cannot count), both set to the same convention
  (:mod:`mbcost.adapters.counters`);
* parameters: weights, biases and normalization parameters separately, symbolic
  against the torch module's own;
* the output shape of the forward pass against the spec's inferred shape.

A row agrees when all of these are equal, exactly. torch and fvcore are imported
only when a check runs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Callable, Iterable, Sequence

from mbcost.errors import MbcostError
from mbcost.core.conventions import COUNT_NAMES, PAPER_COUNT, alpha_number, fmt_alpha
from mbcost.kinds import Shape
from mbcost.core.network import Config, Network

#: The paper's width multipliers and resolutions (Tables 6 and 7): 16 configurations.
#: What FlopCounterMode can count.
FCM_COUNTABLE = frozenset({"conv", "fc"})


@dataclass(frozen=True)
class Params:
    weights: int = 0
    biases: int = 0
    norm: int = 0

    @property
    def total(self) -> int:
        return self.weights + self.biases + self.norm

    def __str__(self) -> str:
        return f"weights {self.weights:,}, biases {self.biases:,}, norm {self.norm:,}"


@dataclass
class LayerCheck:
    """One row: the three Mult-Adds counts, parameters and output shapes.
    ``flop_counter`` is FlopCounterMode's count in Mult-Adds (FLOPs / 2), None
    where it does not apply."""

    name: str
    type: str
    output: Shape
    torch_output: Shape | None
    symbolic: int
    fvcore: int | float
    flop_counter: int | Fraction | None
    params: Params
    torch_params: Params

    @property
    def problems(self) -> list[str]:
        out = []
        if self.fvcore != self.symbolic:
            out.append("fvcore")
        if self.flop_counter is not None and self.flop_counter != self.symbolic:
            out.append("FlopCounterMode")
        if self.params != self.torch_params:
            out.append("params")
        if self.torch_output != self.output:
            out.append("shape")
        return out

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def verdict(self) -> str:
        return "ok" if self.ok else "DIFFERS: " + ", ".join(self.problems)

    def describe(self) -> str:
        """The row's numbers, for the failure message."""
        fcm = "n/a" if self.flop_counter is None else f"{self.flop_counter:,}"
        text = (f"layer {self.name}: Mult-Adds symbolic {self.symbolic:,}, fvcore {self.fvcore:,}, "
                f"FlopCounterMode {fcm}")
        if "params" in self.problems:
            text += f"; params symbolic ({self.params}) vs torch ({self.torch_params})"
        if "shape" in self.problems:
            text += f"; output spec {self.output} vs torch {self.torch_output}"
        return text


@dataclass
class NetworkCheck:
    """One network at one configuration."""

    model: str
    alpha: Fraction
    input: Shape
    count: frozenset
    layers: list[LayerCheck]
    fvcore_device: str = "cpu"
    unsupported: Counter = field(default_factory=Counter)
    #: why this configuration was not checked (it makes no network), or ""
    skipped: str = ""
    depth_mult: Fraction = Fraction(1)

    @property
    def label(self) -> str:
        depth = f" · depth {fmt_alpha(self.depth_mult)}" if self.depth_mult != 1 else ""
        return f"{self.model} · alpha {fmt_alpha(self.alpha)}{depth} · input {self.input}"

    @property
    def ok(self) -> bool:
        return all(layer.ok for layer in self.layers)

    @property
    def first_mismatch(self) -> LayerCheck | None:
        return next((layer for layer in self.layers if not layer.ok), None)

    @property
    def symbolic(self) -> int:
        return sum(r.symbolic for r in self.layers)

    @property
    def fvcore(self) -> int:
        return sum(r.fvcore for r in self.layers)

    @property
    def flop_counter(self) -> int | None:
        """FlopCounterMode's total, None when it does not apply to some row."""
        if any(r.flop_counter is None for r in self.layers):
            return None
        return sum(r.flop_counter for r in self.layers)

    @property
    def params(self) -> Params:
        return Params(*(sum(getattr(r.params, k) for r in self.layers) for k in ("weights", "biases", "norm")))

    @property
    def torch_params(self) -> Params:
        return Params(*(sum(getattr(r.torch_params, k) for r in self.layers) for k in ("weights", "biases", "norm")))

    def to_dict(self) -> dict:
        def number(v):
            return None if v is None else (v if isinstance(v, int) else float(v))

        return {
            "model": self.model,
            "alpha": alpha_number(self.alpha),
            "input": self.input.as_list(),
            "ok": self.ok,
            "skipped": self.skipped or None,
            "fvcore_device": self.fvcore_device,
            "layers": [
                {
                    "name": r.name,
                    "type": r.type,
                    "output": r.output.as_list(),
                    "torch_output": r.torch_output.as_list() if r.torch_output else None,
                    "symbolic": r.symbolic,
                    "fvcore": number(r.fvcore),
                    "flop_counter": number(r.flop_counter),
                    "params": asdict(r.params),
                    "torch_params": vars(r.torch_params) | {},
                    "ok": r.ok,
                    "problems": r.problems,
                }
                for r in self.layers
            ],
            "total": {
                "symbolic": self.symbolic,
                "fvcore": number(self.fvcore),
                "flop_counter": number(self.flop_counter),
                "params": asdict(self.params),
                "torch_params": vars(self.torch_params) | {},
            },
        }


@dataclass
class CheckResult:
    networks: list[NetworkCheck]
    count: frozenset = PAPER_COUNT

    @property
    def ok(self) -> bool:
        return all(n.ok for n in self.networks)

    @property
    def first_mismatch(self) -> tuple[NetworkCheck, LayerCheck] | None:
        for net in self.networks:
            layer = net.first_mismatch
            if layer is not None:
                return net, layer
        return None

    def failure_message(self) -> str:
        """One line naming the first differing layer with all three numbers ("" if none)."""
        found = self.first_mismatch
        if found is None:
            return ""
        net, layer = found
        failed = sum(not n.ok for n in self.networks)
        more = f" ({failed} of {len(self.networks)} configurations differ)" if len(self.networks) > 1 else ""
        return f"{net.label}: {layer.describe()} ({layer.verdict}){more}"

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "counted": [c for c in COUNT_NAMES if c in self.count],
            "networks": [n.to_dict() for n in self.networks],
            "first_mismatch": (
                {"configuration": self.first_mismatch[0].label, "layer": self.first_mismatch[1].name}
                if self.first_mismatch else None
            ),
        }


def _shape_of(out) -> Shape | None:
    dims = tuple(out.shape) if hasattr(out, "shape") else ()
    if len(dims) != 4:
        return None
    return Shape(int(dims[2]), int(dims[3]), int(dims[1]))


def check_network(network: Network, config: Config = Config()) -> NetworkCheck:
    """Count ``network`` at ``config`` three ways and compare every row."""
    from mbcost.adapters import require_torch

    require_torch("mbcost check")
    from mbcost.adapters.counters import fcm_count, fvcore_count, param_split
    from mbcost.adapters.torch_modules import build_module, input_tensor

    instances = network.evaluate(config)
    module = build_module(instances, "meta", network.name)
    x = input_tensor(instances, "meta")
    shapes: dict[str, Shape | None] = {}

    def record(root):
        return [
            mod.register_forward_hook(lambda _m, _i, out, name=name: shapes.__setitem__(name, _shape_of(out)))
            for name, mod in root.rows.items()
        ]

    fcm = fcm_count(module, (x,), record)  # meta device
    torch_params = {name: Params(*param_split(mod)) for name, mod in module.rows.items()}
    fv = fvcore_count(module, (x,), config.count)  # meta where fvcore allows it, else zeros on CPU
    fcm_count_set = config.count & FCM_COUNTABLE
    rows = []
    for inst in instances:
        name = inst.layer.name
        parts = inst.parts(config.count)
        symbolic = sum(p.mult_adds for p in parts)
        fcm_part = sum(p.mult_adds for p in inst.parts(fcm_count_set))
        rows.append(LayerCheck(
            name=name,
            type=inst.layer.type_name,
            output=inst.output,
            torch_output=shapes.get(name),
            symbolic=symbolic,
            fvcore=fv.by_module.get(name, 0),
            flop_counter=fcm.mult_adds(name, fcm_count_set) if fcm_part == symbolic else None,
            params=Params(sum(p.weights for p in parts), sum(p.biases for p in parts), sum(p.norm for p in parts)),
            torch_params=torch_params[name],
        ))
    return NetworkCheck(network.name, config.alpha, instances[0].input, config.count, rows, fv.device,
                        fv.unsupported, depth_mult=config.depth_mult)


def parse_alphas(text: str | None) -> list[Fraction] | None:
    """``"1,0.75"`` -> [1, 3/4], or a range as sweep and pick take it
    (``0.25:1:0.25``); largest first, None for None."""
    from mbcost.results.sweep_grid import parse_grid

    return None if text is None else parse_grid(text, "alpha")


def parse_resolutions(text: str | None) -> list[int] | None:
    """``"224,192"`` -> [224, 192], or a range (``128:224:32``); largest first,
    None for None."""
    from mbcost.results.sweep_grid import parse_grid

    return None if text is None else parse_grid(text, "resolution")


def plan(models: Sequence[str | Network], alphas: Iterable | None = None, resolutions: Iterable | None = None,
         *, count=PAPER_COUNT, min_depth: int | None = None, divisor: int | None = None,
         classes: int | None = None, depth_mult=1) -> list[tuple[Network, Config]]:
    """Every (network, config) to check: each model at each alpha and resolution
    (default: alpha 1 at the spec's own resolution)."""
    from mbcost.results.zoo import load_network

    networks = [m if isinstance(m, Network) else load_network(m) for m in models]
    alphas = list(alphas) if alphas is not None else [Fraction(1)]
    resolutions = list(resolutions) if resolutions is not None else [None]
    return [
        (net, Config.make(alpha=a, resolution=r, count=count, min_depth=min_depth, divisor=divisor,
                          classes=classes, depth_mult=depth_mult))
        for net in networks
        for a in alphas
        for r in resolutions
    ]


def check(models: Sequence[str | Network] = ("mobilenet_v1",), alphas: Iterable | None = None,
          resolutions: Iterable | None = None, *, count=PAPER_COUNT, min_depth: int | None = None,
          divisor: int | None = None, classes: int | None = None, depth_mult=1,
          progress: Callable[[int, int, str], None] | None = None, workers: int | None = 1) -> CheckResult:
    """Check every model at every alpha x resolution. ``progress(done, total,
    label)`` is called before each network and once at the end.

    ``workers``: how many processes count (1, the default: this one; N: N fresh
    spawned processes, so a calling script needs the ``if __name__ ==
    "__main__":`` guard; None: one per available CPU where each gets at least
    :data:`JOBS_PER_WORKER` networks, else this process -- ``mbcost check``).
    The result, in the order of the jobs, does not depend on it."""
    jobs = plan(models, alphas, resolutions, count=count, min_depth=min_depth, divisor=divisor, classes=classes,
                depth_mult=depth_mult)
    results: list[NetworkCheck | None] = []
    refused, todo = [], []
    for net, config in jobs:
        try:
            net.evaluate(config)
        except MbcostError as exc:
            # a configuration that makes no network (a fixed FC head at another
            # resolution, a width that leaves no channels): reported, not checked
            refused.append(exc)
            results.append(NetworkCheck(net.name, config.alpha, net.input_shape(config), config.count, [],
                                        skipped=str(exc), depth_mult=config.depth_mult))
            continue
        todo.append(len(results))
        results.append(None)
    processes = _workers(workers, len(todo))
    checkable = [jobs[i] for i in todo]
    checks = _counted_in_parallel(checkable, processes) if processes > 1 else map(_check_job, checkable)
    for i, (net, config) in enumerate(jobs):
        if progress:
            progress(i, len(jobs), f"{net.name} · alpha {fmt_alpha(config.alpha)}"
                     + (f" · {config.resolution[0]}" if config.resolution else ""))
        if results[i] is None:
            results[i] = next(checks)
    if progress:
        progress(len(jobs), len(jobs), "done")
    if refused and len(refused) == len(jobs):
        raise refused[0]  # nothing could be checked: the error itself
    return CheckResult(results, jobs[0][1].count if jobs else frozenset(count))


#: ``check`` counts in parallel only when each process gets at least this many
#: networks: starting one (importing torch and fvcore) costs about as much as
#: checking 10 to 20 networks.
JOBS_PER_WORKER = 32


def _workers(asked: int | None, jobs: int) -> int:
    if asked is not None:
        if asked < 1:
            raise MbcostError(f"workers must be at least 1, got {asked}")
        return min(asked, max(jobs, 1))
    import os

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cpus, jobs // JOBS_PER_WORKER))


def _check_job(job: tuple[Network, Config]) -> NetworkCheck:
    return check_network(*job)


def _counted_in_parallel(jobs: list[tuple[Network, Config]], workers: int):
    """Each job's :func:`check_network`, in order, counted by ``workers`` fresh
    processes (spawned, not forked: torch's threads do not survive a fork)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield from pool.map(_check_job, jobs)


def fvcore_rows(network: Network, config: Config, instances=None) -> dict[str, int]:
    """fvcore's Mult-Adds per spec row (``mbcost table --check``); ``instances``:
    the evaluation the table was made from (evaluated here when not given)."""
    from mbcost.adapters import require_torch

    require_torch("mbcost table --check")
    from mbcost.adapters.counters import fvcore_count
    from mbcost.adapters.torch_modules import build_module, input_tensor

    instances = instances if instances is not None else network.evaluate(config)
    module = build_module(instances, "meta", network.name)
    fv = fvcore_count(module, (input_tensor(instances, "meta"),), config.count)
    return {inst.layer.name: fv.by_module.get(inst.layer.name, 0) for inst in instances}


@dataclass(frozen=True)
class CounterCheck:
    """``table --check``: an independent counter's Mult-Adds per row of a spec's
    table, and the rows where it differs from the symbolic count."""

    counter: str
    counts: dict
    differing: tuple[str, ...]

    def summary(self, analysis) -> str:
        if not self.differing:
            return f"{self.counter} agrees on every layer ({len(analysis.layers)} rows)."
        first = next(r for r in analysis.layers if r.name == self.differing[0])
        return (f"{self.counter} DIFFERS on {len(self.differing)} layer(s); first {first.name}: symbolic "
                f"{first.mult_adds:,}, {self.counter} {self.counts[first.name]:,} Mult-Adds")


def check_table(analysis) -> CounterCheck:
    """fvcore's count of every row of a spec's table, beside the symbolic one."""
    counts = fvcore_rows(analysis.network, analysis.config, analysis.instances)
    return CounterCheck("fvcore", counts, tuple(r.name for r in analysis.layers if counts.get(r.name) != r.mult_adds))
