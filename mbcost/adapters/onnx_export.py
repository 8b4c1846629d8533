"""Models written as ONNX: a spec's network (through its torch build) or a
user's torch model, with ``torch.onnx.export`` (the TorchScript exporter,
``dynamo=False``: the dynamo exporter needs onnxscript).

What the file holds, so that its count equals the model's:

* batch norm stays a ``BatchNormalization`` node (``do_constant_folding=False``):
  the exporter's eval-mode folding would merge it into the convolution before it,
  and the file would no longer have the model's parameters;
* node names carry the module path (``/layer1/layer1.0/conv1/Conv``), which
  :func:`mbcost.graphs.opgraph.module_of` reads back, so rows are the model's modules;
* the weights are the model's own for a torch model; for a spec they are
  PyTorch's default initialisation under ``torch.manual_seed(0)`` (a spec has no
  trained weights), so the same command writes the same bytes.
"""

from __future__ import annotations

import contextlib
import io
import warnings

from mbcost.errors import MbcostError, one_line

from mbcost.adapters.onnx_model import TIED_KEY
from mbcost.adapters.operators import OPSET  # the one place the opset is set


def torch_to_onnx(model, args: tuple, what: str) -> bytes:
    """``model(*args)`` traced and written as ONNX bytes (CPU tensors)."""
    import torch

    buffer = io.BytesIO()
    _full_scope_names(model)
    try:
        with warnings.catch_warnings(), torch.no_grad(), _silent_stderr(), _no_mha_fast_path():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, args, buffer, dynamo=False, training=torch.onnx.TrainingMode.PRESERVE,
                              opset_version=OPSET,
                              input_names=["input"], output_names=["output"])
    except Exception as exc:  # noqa: BLE001 - the exporter raises many kinds; one line names the cause
        raise MbcostError(f"{what}: torch.onnx.export failed: {one_line(exc)}") from None
    finally:
        model.__dict__.pop("named_modules", None)
    return _clean_names(buffer.getvalue(), {name for name, _ in model.named_modules()})


@contextlib.contextmanager
def _no_mha_fast_path():
    """nn.MultiheadAttention's eval fast path (``_native_multi_head_attention``)
    has no ONNX export; its slow path (the same products, as the operator table
    counts them) exports as MatMul and Softmax."""
    import torch

    mha = getattr(torch.backends, "mha", None)
    if mha is None or not hasattr(mha, "set_fastpath_enabled"):
        yield
        return
    before = mha.get_fastpath_enabled()
    mha.set_fastpath_enabled(False)
    try:
        yield
    finally:
        mha.set_fastpath_enabled(before)


@contextlib.contextmanager
def _silent_stderr():
    """The exporter's C++ side prints the whole TorchScript graph to the process's
    stderr when it fails; the error is reported in one line instead."""
    import os
    import sys

    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no file descriptor 2: nothing to silence
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


#: stands for the dots of a module path in the scopes of node names
SCOPE_DOT = "~"


def _full_scope_names(model) -> None:
    """Make the exporter name each node's scope after its module's full path.

    The TorchScript exporter names a scope by the module's path cut after its
    last non-numeric atom (``layer1.0.conv1`` -> ``conv1``), so two modules with
    the same attribute name under different parents share a scope name and the
    path cannot be read back. It takes the names from ``model.named_modules()``
    once, so for the export the model's ``named_modules`` gives paths with
    :data:`SCOPE_DOT` for dots (nothing to cut); :func:`mbcost.graphs.opgraph.module_of`
    turns them back. Removed right after the export."""
    original = type(model).named_modules.__get__(model)

    def named_modules(*args, **kwargs):
        for name, module in original(*args, **kwargs):
            yield name.replace(".", SCOPE_DOT), module

    model.__dict__["named_modules"] = named_modules


def _clean_names(data: bytes, modules: set[str]) -> bytes:
    """Node names with each scope written as its module's full path,
    ``/layer1/layer1.0/layer1.0.conv1/Conv`` (the exporter's own form, which
    :func:`mbcost.graphs.opgraph.module_of` reads): the stand-in dots turned back, and the
    ``_N`` the exporter adds to a module's second call removed (the module is the
    same; the node keeps a suffix of its own)."""
    import re

    import onnx

    model = onnx.load_model_from_string(data)
    seen: dict[str, int] = {}
    for node in model.graph.node:
        if not node.name.startswith("/"):
            continue
        *scopes, op = node.name[1:].split("/")
        paths = []
        for scope in scopes:
            path = scope.replace(SCOPE_DOT, ".")
            if path not in modules:
                stripped = re.sub(r"_[0-9]+$", "", path)
                path = stripped if stripped in modules else path
            paths.append(path)
        name = "/" + "/".join(paths + [re.sub(r"_[0-9]+$", "", op)])
        count = seen.get(name, 0)
        seen[name] = count + 1
        node.name = name if count == 0 else f"{name}_{count}"
    return model.SerializeToString()


def spec_to_onnx(analysis, batch: int = 1) -> bytes:
    """The ONNX bytes of a spec analysis's network at its configuration, for an
    input of ``batch`` images."""
    import torch

    from mbcost.adapters import require_torch
    from mbcost.adapters.torch_modules import build_module, input_tensor

    require_torch("mbcost export to .onnx")
    instances = analysis.instances
    torch.manual_seed(0)
    net = build_module(instances, device="cpu", name=analysis.model)
    data = torch_to_onnx(net, (input_tensor(instances, device="cpu", batch=batch),), analysis.model)
    return with_notes(data, net, batch_norm=False)


def module_to_onnx(model, shape: tuple[int, ...], what: str) -> bytes:
    """A user's model (built on the CPU) at input ``shape`` as ONNX bytes."""
    import torch

    if any(t.is_meta for t in list(model.parameters()) + list(model.buffers())):
        raise MbcostError(f"{what}: the model is on the meta device; ONNX export needs it built on the CPU")
    return with_notes(torch_to_onnx(model, (torch.zeros(shape),), what), model)


#: the ONNX metadata key under which the file says what the exporter did with the torch model's batch norms
NOTE_KEY = "mbcost_batch_norm"


def with_notes(data: bytes, model, batch_norm: bool = True) -> bytes:
    """``data`` with what the file cannot say itself in its metadata: :func:`batch_norm_note`
    (``NOTE_KEY``, where ``batch_norm``) and :func:`tied_parameters` (``TIED_KEY``, JSON)."""
    import json

    import onnx

    proto = onnx.load_model_from_string(data)
    notes = {TIED_KEY: json.dumps(tied_parameters(model, proto), separators=(",", ":"))}
    if batch_norm:
        notes[NOTE_KEY] = batch_norm_note(model, data)
    for key, value in sorted(notes.items()):
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    return proto.SerializeToString()


def tied_parameters(model, proto) -> dict:
    """Which parameter values of the exported ``proto`` are one tensor of the torch
    ``model``, by the tensor's identity: ``{"groups": [[value, ...], ...], "unmatched": n}``.

    ``torch.onnx.export`` writes a tensor shared by two modules (tied weights),
    or read twice in a transposed form, as two values (an initializer and an
    ``Identity`` of it, or two initializers), and in eval mode it writes a
    *distinct* parameter whose values equal an earlier one's as an ``Identity``
    too (batch norms' ones and zeros): the file alone cannot tell the two apart.
    Here each value an operator reads as a parameter (in the module named by
    its node's scope) is matched to the one tensor of that module it holds:
    among the module's parameters and buffers of its size (or its transpose),
    the ones whose elements equal it; a value that equals two distinct tensors
    is left unmatched, never grouped. A group is the values matched to one
    tensor (two or more). ``unmatched``: tensors that several modules own
    (``named_parameters(remove_duplicate=False)``) of which an owner (or a module
    above it) read a parameter value left unmatched: their values may count
    more than once."""
    import numpy as np
    from onnx import numpy_helper

    from mbcost.adapters.onnx_model import parameter_position
    from mbcost.graphs.opgraph import module_of

    graph = proto.graph
    init = {t.name: t for t in graph.initializer}
    source: dict[str, str] = {name: name for name in init}  # parameter value -> the initializer it copies
    for node in graph.node:
        if node.op_type == "Identity" and node.input and node.input[0] in source:
            source[node.output[0]] = source[node.input[0]]
    modules = dict(model.named_modules(remove_duplicate=False))
    arrays: dict[str, object] = {}
    values: dict[int, list[str]] = {}  # id(tensor) -> its values, in the order operators read them
    unsure: set[str] = set()  # modules that read a parameter value matched to no tensor or to several
    for node in graph.node:
        path = module_of(node.name)
        module = modules.get(path)
        if module is None:
            continue
        for k, arg in enumerate(node.input):
            if arg not in source or not parameter_position(node.op_type, k, init[source[arg]].dims):
                continue
            if arg not in arrays:
                t = init[source[arg]]
                arrays[arg] = None if t.data_location == t.EXTERNAL else numpy_helper.to_array(t)
            array = arrays[arg]
            matches = set() if array is None else {
                id(t) for t in list(module.parameters()) + list(module.buffers()) if _holds(t, array, np)}
            if len(matches) != 1:
                unsure.add(path)
                continue
            names = values.setdefault(matches.pop(), [])
            if arg not in names:
                names.append(arg)
    owners: dict[int, set[str]] = {}
    for name, p in model.named_parameters(remove_duplicate=False):
        owners.setdefault(id(p), set()).add(name.rpartition(".")[0])
    unmatched = sum(1 for paths in owners.values()
                    if len(paths) > 1 and any(u == p or p.startswith(u + ".") or not u for u in unsure for p in paths))
    return {"groups": [names for names in values.values() if len(names) > 1], "unmatched": unmatched}


def _holds(tensor, array, np) -> bool:
    """Whether the torch ``tensor`` holds ``array``'s elements, as they are or transposed (a 2-D weight)."""
    shape = tuple(tensor.shape)
    if tensor.is_meta or shape not in (array.shape, array.shape[::-1]):
        return False
    try:
        mine = tensor.detach().cpu().numpy()
    except (TypeError, RuntimeError):  # a dtype numpy has no type for
        return False
    if mine.dtype != array.dtype:
        return False
    return bool(shape == array.shape and np.array_equal(mine, array)
                or len(shape) == 2 and shape[::-1] == array.shape and np.array_equal(mine.T, array))


def exporter_note(data: bytes) -> str:
    """What the exporter did with the batch norms, as the file's metadata says (a spec's export keeps them)."""
    import onnx

    props = {p.key: p.value for p in onnx.load_model_from_string(data).metadata_props}
    return props.get(NOTE_KEY, "batch norm kept")


def batch_norm_note(model, data: bytes) -> str:
    """What the exporter did with the torch model's batch norms: kept (as
    ``BatchNormalization`` nodes) or folded into the convolutions before them,
    with how many channels and parameters the torch model had in the folded ones."""
    import onnx
    from torch import nn

    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    channels = sum(m.num_features for m in norms)
    params = sum(p.numel() for m in norms for p in m.parameters(recurse=False))
    if not norms:
        return "the torch model has no batch norm"
    graph = onnx.load_model_from_string(data).graph
    sizes = {t.name: list(t.dims) for t in graph.initializer}
    kept = [n for n in graph.node if n.op_type == "BatchNormalization"]
    kept_channels = sum(sizes.get(n.input[1], [0])[0] for n in kept if len(n.input) > 1)
    if kept_channels >= channels:
        return f"batch norm kept: {len(norms)} BatchNormalization nodes, {channels:,} channels, {params:,} parameters"
    folded = len(norms) - len(kept)
    share = channels - kept_channels
    return (f"the exporter folded {folded} batch norms into the convolutions before them: the torch model had "
            f"{share:,} channels and {round(params * share / channels):,} parameters in them (not in this file)")
