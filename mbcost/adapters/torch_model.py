"""Any PyTorch model as a cost table: ``mbcost table --torch pkg.module:factory``.

:func:`analyze_torch` imports the factory, builds the model, runs fvcore's
``FlopCountAnalysis`` on one forward pass at the given input shape (with the
same handles as ``mbcost check``, :mod:`mbcost.adapters.counters`) and returns
a :class:`TorchAnalysis`, which has the interface of
:class:`mbcost.results.analysis.Analysis` that the table views use:

* rows: the leaf modules in the order their forward passes finish, plus a row
  ``NAME (own ops)`` for any module whose forward runs counted operators of its
  own (``x.mean(...)``, a functional call); module names are ``named_modules``
  names;
* the breakdown by type groups rows into the symbolic core's categories
  (``Conv 1×1``, ``Conv DW 3×3``, ``Group Conv 3×3``, ``Fully Connected``,
  ``BatchNorm``, ``Avg Pool`` ...), other modules by class name;
* parameters: normalization layers' are ``norm``, other ``bias`` parameters are
  biases, everything else is a weight (``--params`` picks the total, as for specs).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import sys

from mbcost.results.tables import LayerRow, ModelTable, dims_shape as _dims_shape
from mbcost.core.conventions import params_total
from mbcost.errors import MbcostError, one_line
from mbcost.core.network import Config
from mbcost.kinds import registry
from mbcost.steps import run

DEFAULT_INPUT = "1x3x224x224"


def parse_input(text: str | None) -> tuple[int, ...]:
    """``"1x3x224x224"`` -> (1, 3, 224, 224): positive whole numbers, batch first."""
    raw = DEFAULT_INPUT if text is None else str(text)
    parts = raw.strip().lower().replace("×", "x").replace(",", "x").split("x")
    if len(parts) < 2 or not all(p.strip().isascii() and p.strip().isdigit() and int(p) > 0 for p in parts):
        raise MbcostError(f"--input must be a shape like 1x3x224x224 (N x C x H x W, positive), got '{raw}'")
    return tuple(int(p) for p in parts)


#: The longest ``--torch`` text read: a module path, a factory and a few literal
#: arguments are a few dozen characters.
MAX_TARGET_CHARS = 1000


def parse_target(target: str) -> tuple[str, str, tuple, dict]:
    """``pkg.module:factory``, ``path/to/file.py:factory`` or either with
    arguments, ``pkg.mod:build(width=0.5, classes=10)``: (where, attribute path,
    args, kwargs). Arguments are Python literals, read with :func:`ast.literal_eval`
    (never evaluated as code). The text is at most MAX_TARGET_CHARS long, checked
    before it is parsed; every failure is one line quoting at most 100 characters."""
    import ast

    from mbcost.numbers import shown

    text = str(target)
    if len(text) > MAX_TARGET_CHARS:
        raise MbcostError(f"--torch {shown(text, 100)} is longer than {MAX_TARGET_CHARS:,} characters")
    quoted = shown(text.strip(), 100)
    where, sep, call = text.strip().partition(":")  # a ':' in the arguments stays in them
    if not sep or not where.strip() or not call.strip():
        raise MbcostError("--torch takes pkg.module:factory, path/to/file.py:factory, or either with literal "
                          f"arguments (pkg.mod:build(width=0.5)), got {quoted}")
    call = call.strip()
    try:
        node = ast.parse(call, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # ValueError: a NUL byte
        raise MbcostError(f"--torch {quoted}: not a name or a call with literal arguments") from None
    if isinstance(node, ast.Call):
        func, args, kwargs = node.func, node.args, node.keywords
    else:
        func, args, kwargs = node, [], []
    parts = []
    while isinstance(func, ast.Attribute):
        parts.insert(0, func.attr)
        func = func.value
    if not isinstance(func, ast.Name):
        raise MbcostError(f"--torch {quoted}: the part after ':' must name the factory (name or name.attr)")
    parts.insert(0, func.id)
    try:
        values = tuple(ast.literal_eval(a) for a in args)
        named = {k.arg: ast.literal_eval(k.value) for k in kwargs if k.arg is not None}
    except (ValueError, SyntaxError, TypeError, RecursionError, MemoryError):
        raise MbcostError(f"--torch {quoted}: the arguments must be Python literals (numbers, strings, "
                          "tuples, lists, dicts, True/False/None), as ast.literal_eval reads them") from None
    if any(k.arg is None for k in kwargs) or any(isinstance(a, ast.Starred) for a in args):
        raise MbcostError(f"--torch {quoted}: no *args or **kwargs: write the arguments out")
    return where.strip(), ".".join(parts), values, named


def load_factory(target: str):
    """The object named by ``pkg.module:attr`` or ``path/to/file.py:attr``
    (``attr`` may be dotted). The current folder is importable, as for ``python -m``."""
    where, attr, _, _ = parse_target(target)
    module = _import_file(where) if where.endswith(".py") else _import_module(where)
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise MbcostError(f"module '{where}' has no attribute '{attr}'")
        obj = getattr(obj, part)
    return obj


def _import_module(module_name: str):
    added = False
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
        added = True
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise MbcostError(f"cannot import '{module_name}': no module named '{exc.name}'") from None
        raise MbcostError(f"importing '{module_name}' failed: {one_line(exc)}") from None
    except Exception as exc:  # noqa: BLE001 - the user's module: any error is theirs
        raise MbcostError(f"importing '{module_name}' failed: {one_line(exc)}") from None
    finally:
        if added:
            try:
                sys.path.remove(cwd)
            except ValueError:
                pass


def _import_file(path: str):
    """A Python file as a module (its folder importable while it loads)."""
    import importlib.util
    from pathlib import Path

    file = Path(path)
    if not file.is_file():
        raise MbcostError(f"--torch: no such Python file: {path}")
    name = "mbcost_user_" + "".join(c if c.isalnum() else "_" for c in file.stem)
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise MbcostError(f"--torch: cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    folder = str(file.resolve().parent)
    sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - the user's file: any error is theirs
        raise MbcostError(f"importing {path} failed: {one_line(exc)}") from None
    finally:
        try:
            sys.path.remove(folder)
        except ValueError:
            pass
    return module


class MetaLimit(MbcostError):
    """The factory failed on the meta device in a way the CPU may not: it read a
    tensor's values (``.item()``, ``.numpy()``, a data-dependent operator) or mixed
    devices. Only this failure is worth a build on the CPU; any other is the
    factory's own, and calling it again would fail the same way."""


def meta_limit(exc: BaseException) -> bool:
    """Whether ``exc`` (or an exception it was raised from or during) is the meta
    device's limit: PyTorch raises NotImplementedError for an operator with no
    meta kernel, and names the meta device in every other such message
    ("Tensor.item() cannot be called on meta tensors", "can't convert meta device
    type tensor to numpy", "... not on the expected device meta!"). A factory's
    own error that happens to say "meta" is only built once more on the CPU."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, NotImplementedError) or "meta" in str(exc).lower():
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def build_model(target: str, device: str = "cpu"):
    """The ``nn.Module`` a factory returns (or the module object it names), in
    eval mode; ``device="meta"`` calls the factory inside ``torch.device("meta")``,
    so that its parameters take no memory. A factory that fails there raises
    :class:`MetaLimit` when the meta device is the cause, MbcostError otherwise."""
    import contextlib

    import torch
    from torch import nn

    obj = load_factory(target)
    _, _, args, kwargs = parse_target(target)
    if isinstance(obj, nn.Module):
        if args or kwargs:
            raise MbcostError(f"{target}: a module object takes no arguments; name its factory instead")
        model = obj
    elif callable(obj):
        try:
            with torch.device("meta") if device == "meta" else contextlib.nullcontext():
                model = obj(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001
            error = MetaLimit if device == "meta" and meta_limit(exc) else MbcostError
            raise error(f"factory {target} failed: {one_line(exc)}") from None
    else:
        raise MbcostError(f"{target} is neither a factory nor a torch.nn.Module (it is a {type(obj).__name__})")
    if not isinstance(model, nn.Module):
        raise MbcostError(f"factory {target} returned a {type(model).__name__}, not a torch.nn.Module")
    return model.eval()


def available_bytes() -> int | None:
    """Memory this machine has free now (Linux: MemAvailable), or None where unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_fits(target: str, why: str, meta=None) -> None:
    """Refuse, in one line, to build ``target`` on the CPU when its parameters
    and buffers (measured on the meta device: ``meta``, the model built there
    already, or a build now) need more than half the memory free now: the build
    would swap or be killed instead of failing cleanly. A factory that fails on
    its own is refused here, before it is called again on the CPU."""
    if meta is None:
        try:
            meta = build_model(target, "meta")
        except MetaLimit:
            return  # the factory cannot build on meta: nothing to measure first
    need = sum(t.numel() * t.element_size() for t in list(meta.parameters()) + list(meta.buffers()))
    free = available_bytes()
    if free is not None and need > free // 2:
        params = sum(p.numel() for p in meta.parameters())
        raise MbcostError(f"{target} is too big to build on the CPU ({why}): its {params:,} parameters take "
                          f"{need / 2 ** 30:.1f} GiB and {free / 2 ** 30:.1f} GiB is free; counting it "
                          "(mbcost table --torch) works on the meta device, without building it")


def build_for_export(target: str, input_shape=None):
    """(model built on the CPU, input shape) for an ONNX export, which needs real
    tensors; a model too big for this machine is refused first."""
    shape = input_shape if isinstance(input_shape, tuple) else parse_input(input_shape)
    check_fits(target, "export needs real weights")
    return build_model(target), shape


# -- rows ----------------------------------------------------------------------

def _dims(t) -> tuple[int, ...] | None:
    shape = getattr(t, "shape", None)
    return tuple(map(int, shape)) if shape is not None else None


def _first_tensor(value):
    import torch

    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (tuple, list)):
        for v in value:
            t = _first_tensor(v)
            if t is not None:
                return t
    if isinstance(value, dict):
        for v in value.values():
            t = _first_tensor(v)
            if t is not None:
                return t
    return None


def describe_module(module) -> tuple[str, str, str, tuple[int, int]]:
    """(type as Table 1 prints it, breakdown category, filter text, stride): the
    labels of the layer kind the module corresponds to (the kinds' registry), or
    its class name."""
    kind = registry.kind_of_torch_module(module)
    if kind is not None:
        return kind.describe_torch(module)
    name = type(module).__name__
    return name, name, "", (1, 1)


def _pair(value) -> tuple[int, int] | None:
    """A module's kernel_size (3 or (3, 3)) as (kh, kw); None for a 1-d or 3-d one."""
    if isinstance(value, int):
        return (value, value)
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return value
    return None


def _formula(module, dims, mult_adds: int, count) -> str:
    """A conv's or linear layer's Mult-Adds with its numbers, from the module's
    own attributes and the traced sizes -- given only where it equals the count
    fvcore made (never a formula for a different number)."""
    (inp, out) = dims
    if not inp or not out or not mult_adds:
        return ""
    from torch import nn

    factors: list[int] = []
    if isinstance(module, nn.Conv2d) and "conv" in count and len(out) == 4:
        kh, kw = module.kernel_size
        factors = [out[0], kh, kw, module.in_channels // module.groups, module.out_channels, out[2], out[3]]
    elif isinstance(module, nn.Linear) and "fc" in count:
        rows = 1
        for d in inp[:-1]:
            rows *= d
        factors = [rows, module.in_features, module.out_features]
    if not factors:
        return ""
    if factors[0] == 1:
        factors = factors[1:]  # batch 1: the paper's form, 3·3·3·32·112·112
    value = 1
    for f in factors:
        value *= f
    return "·".join(map(str, factors)) if value == mult_adds else ""


def _known_kind(module) -> bool:
    return registry.kind_of_torch_module(module) is not None


def _absorbed_params(modules: dict, called: set) -> dict:
    """Parameters of modules whose forward never ran but whose ancestor's did,
    credited to the nearest called ancestor: a fused module uses its children's
    weights directly (nn.MultiheadAttention calls F.linear on out_proj.weight).
    Ancestor -> [(module, parameter name, parameter)]."""
    out: dict[str, list] = {}
    for name, module in modules.items():
        if name in called:
            continue
        own = list(module.named_parameters(recurse=False))
        if not own:
            continue
        parent = name
        while parent:
            parent = parent.rpartition(".")[0]
            if parent in called:
                out.setdefault(parent, []).extend((module, pname, p) for pname, p in own)
                break
    return out


class _Params:
    """Each parameter tensor counted once, credited to the first row that uses
    it; a later row that uses it records how many it shares and with whom."""

    def __init__(self) -> None:
        from mbcost.adapters.counters import param_role

        self.owner: dict[int, str] = {}
        self.shared: dict[str, tuple[int, str]] = {}
        self.role = param_role

    def split(self, row: str, items) -> tuple[int, int, int]:
        split = {"weight": 0, "bias": 0, "norm": 0}
        for module, pname, p in items:
            first = self.owner.setdefault(id(p), row)
            if first != row:
                count, _ = self.shared.get(row, (0, first))
                self.shared[row] = (count + p.numel(), first)
                continue
            split[self.role(module, pname)] += p.numel()
        return split["weight"], split["bias"], split["norm"]


def _items(module, recurse: bool) -> list:
    """(module, name, parameter) of ``module``'s own parameters (and its descendants',
    ``recurse``), as ``named_parameters(recurse=False)`` gives them per module (each
    tensor once), read from ``_parameters`` (the same, without a generator per module)."""
    out = []
    for sub in (module.modules() if recurse else (module,)):
        seen = set()
        for pname, p in sub._parameters.items():
            if p is not None and id(p) not in seen:
                seen.add(id(p))
                out.append((sub, pname, p))
    return out


class TorchAnalysis(ModelTable):
    """fvcore's per-module count of a PyTorch model, shaped like an Analysis."""

    def __init__(self, model_name: str, input_shape: tuple[int, ...], config: Config, rows: list[LayerRow],
                 unsupported: dict, uncalled_params: int, device: str) -> None:
        self.model = model_name
        self.description = ""
        self.config = config
        self.input_shape = input_shape
        self.input = _dims_shape(tuple(input_shape))
        self.layers = rows
        self.unsupported = unsupported
        self.uncalled_params = uncalled_params
        self.device = device
        self.total = self.totals(rows)

    source, counter, counted_by = "torch", "fvcore", "counted by fvcore per module"

    #: how the model was built (meta device, or the CPU and why)
    build_note: str = ""
    _example_inputs: tuple | None = None

    @property
    def example_inputs(self) -> tuple:
        """The forward pass's arguments, for ``--memory`` (which traces the model
        again): zeros of the input size on the CPU where none were kept (made
        when asked: most counts never need them)."""
        if self._example_inputs is None:
            import torch

            self._example_inputs = (torch.zeros(self.input_shape),)
        return self._example_inputs

    @example_inputs.setter
    def example_inputs(self, value: tuple | None) -> None:
        self._example_inputs = value


def _own_unsupported(per_module: dict, children: dict) -> dict:
    """module -> {operator: calls} of operators with no handle run by the module
    itself (fvcore counts each call in every ancestor: the children's are taken off)."""
    from collections import Counter

    out = {}
    for name, ops in per_module.items():
        own = Counter(ops)
        for kid in children.get(name, []):
            own.subtract(per_module.get(kid, Counter()))
        own = {op: n for op, n in own.items() if n > 0}
        if own:
            out[name] = own
    return out


def _not_counted(own_unknown: dict) -> dict:
    """operator -> {"calls", "rows"} of the operators not in the operator table."""
    out: dict[str, dict] = {}
    for module, ops in own_unknown.items():
        for op, n in ops.items():
            entry = out.setdefault(op, {"calls": 0, "rows": []})
            entry["calls"] += n
            entry["rows"].append(module or "(model)")
    return out


def _nothing(calls) -> dict:
    """operator -> calls of the table's operators that counted nothing and are named (a division, upsampling
    when pooling is not counted)."""
    from mbcost.adapters import operators

    out: dict[str, int] = {}
    for (op, _), n in calls.items():
        entry = operators.lookup("aten", op)
        if entry is not None and operators.named_when_nothing(entry):
            out[op] = out.get(op, 0) + n
    return out


def _config(count, params) -> Config:
    """``Config.make(count=count, params=params or "all")``, made once per (count, params)."""
    try:
        return _made_config(count if isinstance(count, str) else tuple(count), params or "all")
    except TypeError:  # not hashable: made (and refused) as given
        return Config.make(count=count, params=params or "all")


@functools.lru_cache(maxsize=64)
def _made_config(count, params) -> Config:
    return Config.make(count=count, params=params)


def analyze_torch(target: str, input_shape: str | tuple[int, ...] | None = None, *, count=("conv", "fc"),
                  params: str | None = None) -> TorchAnalysis:
    """Cost table of the model ``pkg.module:factory`` builds, at ``input_shape``
    (default 1x3x224x224), from fvcore's per-module counts. Parameters: every
    parameter unless ``params`` says otherwise (what every peer reports for a
    user's model)."""
    from mbcost.adapters import require_torch

    require_torch("--torch")
    config = _config(count, params)
    shape = input_shape if isinstance(input_shape, tuple) else parse_input(input_shape)
    # First on the meta device: no weight is allocated, so a billion-parameter model is counted in seconds
    # and little memory. A factory or forward pass that needs real tensors (loads weights, calls .item())
    # is built again on the CPU, and the output says so. The factory is called once more only then: a factory
    # that fails on its own fails here, once; the meta build, when there is one, is what check_fits measures.
    meta = None
    try:
        meta = build_model(target, "meta")
        result = analyze_module(meta, shape, config, name=target)
        result.build_note = "built on the meta device (shapes only: no weight was allocated)"
        return result
    except MetaLimit as exc:  # the factory needs real tensors
        meta_error = str(exc)
    except MbcostError as exc:
        if meta is None:
            raise  # the factory's own failure: the CPU would fail the same way
        # the forward pass failed on meta: counted on the CPU whatever the cause, since fvcore may have run it
        # on zero-filled tensors (a failure there need not name the meta device)
        meta_error = str(exc)
    if meta is not None:  # else the factory cannot build on meta: nothing to measure first
        check_fits(target, f"on the meta device {meta_error}", meta)
    model = build_model(target)
    result = analyze_module(model, shape, config, name=target)
    result.build_note = f"built on the CPU: on the meta device {meta_error}"
    return result


def analyze_user_module(model, input_size=None, inputs=None, *, count=("conv", "fc"),
                        params: str | None = None) -> TorchAnalysis:
    """``mbcost.analyze(module, input_size=...)``: a module already built, at
    ``input_size`` (default 1x3x224x224) or on ``inputs`` (a tuple of arguments)."""
    return run(user_module_steps(model, input_size, inputs, count=count, params=params))


def user_module_steps(model, input_size=None, inputs=None, *, count=("conv", "fc"), params: str | None = None):
    """:func:`analyze_user_module` as steps (:mod:`mbcost.steps`): they yield
    fvcore's trace, which ``mbcost.analyze`` makes in its own frame."""
    from mbcost.adapters import require_torch

    require_torch("mbcost.analyze on a torch module")
    config = _config(count, params)
    if inputs is not None:
        inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
        first = next((t for t in inputs if hasattr(t, "shape")), None)
        shape = tuple(int(d) for d in first.shape) if first is not None else ()
        with _eval_mode(model):
            return (yield from module_steps(model, shape, config, name=type(model).__name__, inputs=inputs))
    shape = parse_input(input_size) if isinstance(input_size, str) or input_size is None else \
        tuple(int(d) for d in input_size)
    if not shape or any(d <= 0 for d in shape):
        raise MbcostError(f"input_size must be positive dimensions, batch first (e.g. (1, 3, 224, 224)), got "
                          f"{input_size!r}")
    with _eval_mode(model):
        return (yield from _built_steps(model, shape, config))


@contextlib.contextmanager
def _eval_mode(model):
    """The model in eval mode while it is counted (the cost of inference, as
    ``--torch`` factories are built: no dropout or drop-connect), every
    submodule's own mode restored after."""
    training = [m for m in model.modules() if m.training]
    if training:  # (a model already in eval mode, as most are when counted, is left alone)
        model.eval()
    try:
        yield
    finally:
        for m in training:
            m.training = True


def _built_steps(model, shape, config):
    # counted on the meta device (shapes only, no arithmetic: faster than the CPU), the CPU where that fails (a
    # model whose tensors were all on meta already is counted once)
    swapped = 0
    try:
        with _meta_tensors(model) as swapped:
            result = yield from module_steps(model, shape, config, name=type(model).__name__)
    except MbcostError:
        if not swapped:
            raise
    else:
        if swapped:
            result.example_inputs = None  # the model's tensors are back on the CPU: CPU zeros, when asked
        return result
    return (yield from module_steps(model, shape, config, name=type(model).__name__))


@contextlib.contextmanager
def _meta_tensors(model):
    """The model's parameters and buffers replaced by meta tensors of the same
    sizes while it is counted (one meta tensor per tensor: tied weights stay
    tied), the originals restored after. Yields how many were replaced (0: all
    on meta already, or none)."""
    import torch
    from torch import nn

    swapped: list[tuple] = []
    meta: dict[int, torch.Tensor] = {}
    try:
        for module in model.modules():
            for store in (module._parameters, module._buffers):
                for key, t in list(store.items()):
                    if t is None or t.is_meta:
                        continue
                    if id(t) not in meta:
                        empty = torch.empty_like(t, device="meta")
                        meta[id(t)] = nn.Parameter(empty, t.requires_grad) if isinstance(t, nn.Parameter) else empty
                    swapped.append((store, key, t))
                    store[key] = meta[id(t)]
        yield len(swapped)
    finally:
        for store, key, t in swapped:
            store[key] = t


def analyze_module(model, shape: tuple[int, ...], config: Config, name: str = "model",
                   inputs: tuple | None = None) -> TorchAnalysis:
    """:func:`analyze_torch` for a module already built (``inputs``: the forward
    pass's arguments, instead of zeros of ``shape``)."""
    return run(module_steps(model, shape, config, name, inputs))


def module_steps(model, shape: tuple[int, ...], config: Config, name: str = "model", inputs: tuple | None = None):
    """:func:`analyze_module` as steps (:mod:`mbcost.steps`): they yield fvcore's
    trace and return the :class:`TorchAnalysis`."""
    import torch

    from mbcost.adapters.counters import fvcore_count_steps

    names = {}
    for mod_name, mod in model.named_modules():
        names.setdefault(mod, mod_name)
    modules = {n: m for m, n in names.items()}
    dims: dict[str, tuple] = {}  # name -> (input, output) sizes in the model's own layout, in the order called
    tensor, tracing_state, set_tracing_state = torch.Tensor, torch._C._get_tracing_state, torch._C._set_tracing_state

    def hook(mod, inputs, output):  # (called for every module's forward pass during the trace: kept short)
        mod_name = names.get(mod)
        if mod_name is None or mod_name in dims:
            return
        # reading sizes while the JIT traces records them as operators (a third of the trace's time): not traced
        tracing = tracing_state()
        if tracing is not None:
            set_tracing_state(None)
        try:
            first = inputs[0] if inputs and isinstance(inputs[0], tensor) else _first_tensor(inputs)
            dims[mod_name] = (_dims(first), _dims(output if isinstance(output, tensor) else _first_tensor(output)))
        finally:
            if tracing is not None:
                set_tracing_state(tracing)

    # one hook per module (a global one, register_module_forward_hook, would save registering 404 on GhostNet,
    # 1.4 ms, but it puts the tracer's own wrapper module on its slow path: one frame more under every operator)
    handles = [m.register_forward_hook(hook) for m in names]
    try:
        device = next((t.device for t in model.parameters()), torch.device("cpu"))  # meta stays meta
        args = inputs if inputs is not None else (torch.zeros(shape, device=device),)
        try:
            counts = yield from fvcore_count_steps(model, args, config.count)
        except MbcostError:
            raise
        except Exception as exc:  # noqa: BLE001 - the user's forward pass
            size = "x".join(str(d) for d in shape)
            raise MbcostError(f"the model's forward pass failed on input {size}: {one_line(exc)}") from None
    finally:
        for h in handles:
            h.remove()

    by_module = counts.by_module
    children = {n: [f"{n}.{c}" if n else c for c, _ in m.named_children()] for m, n in names.items()}
    absorbed = _absorbed_params(modules, set(dims))
    own_unknown = _own_unsupported(counts.unsupported_by_module, children)
    params = _Params()
    rows: list[LayerRow] = []
    called_params = 0
    for mod_name, (in_dims, out_dims) in dims.items():
        mod = modules[mod_name]
        kids = children.get(mod_name, [])
        row_name = mod_name or "(model)"
        if not kids:
            mult_adds = by_module.get(mod_name, 0)
            weights, biases, norm = params.split(row_name, _items(mod, False))  # (a leaf: its own are all)
            label, category, filt, stride = describe_module(mod)
        else:
            mult_adds = by_module.get(mod_name, 0) - sum(by_module.get(k, 0) for k in kids)
            weights, biases, norm = params.split(row_name, _items(mod, False) + absorbed.get(mod_name, []))
            if not mult_adds and not weights + biases + norm and row_name not in params.shared \
                    and not own_unknown.get(mod_name):
                continue
            if _known_kind(mod):  # a conv subclass with a padding child (TF-style 'same'): still a conv
                label, category, filt, stride = describe_module(mod)
            else:
                label = f"{type(mod).__name__} (own ops)"
                category, filt, stride = label, "", (1, 1)
        if own_unknown.get(mod_name):  # never a kind's label with a count its dropped operator is missing from
            label = category = f"{label} (not counted: {', '.join(sorted(own_unknown[mod_name]))})"
        called_params += weights + biases + norm
        rows.append(LayerRow(
            name=row_name, kind=type(mod).__name__, type=label, category=category, stride=stride,
            filter=filt, input=_dims_shape(in_dims or ()), output=_dims_shape(out_dims or ()),
            mult_adds=int(mult_adds), weights=weights, biases=biases,
            norm=norm, params=params_total(weights, biases, norm, config.params),
            formula=_formula(mod, (in_dims, out_dims), int(mult_adds), config.count), line=0,
            kernel=_pair(getattr(mod, "kernel_size", None)) if not kids else None,
            input_dims=in_dims, output_dims=out_dims,
        ))
    # every parameter once (as model.parameters() gives them, without its walk's names)
    all_params = sum(p.numel() for p in {id(p): p for m in names for p in m._parameters.values()
                                          if p is not None}.values())
    result = TorchAnalysis(name, tuple(shape), config, rows, counts.unsupported, all_params - called_params,
                           counts.device)
    result.not_counted = _not_counted(own_unknown)
    result.counted_as_nothing = _nothing(counts.nothing_calls)
    result.shared = dict(params.shared)
    result.classes = {n: type(m).__name__ for n, m in modules.items()}
    result.module, result.example_inputs = model, args  # for --memory, which traces it again
    return result
