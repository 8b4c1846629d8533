"""An ONNX file as an :class:`~mbcost.graphs.opgraph.OpGraph`, with the ``onnx`` package alone.

``onnx`` reads the protobuf and infers every value's shape
(``onnx.shape_inference.infer_shapes`` in strict mode, with data propagation,
so a ``Reshape`` fed by ``Shape``/``Gather`` arithmetic gets its sizes). No
runtime, no torch. Weights stored outside the file (external data) are not
loaded: their dims are in the file, which is all a count needs.

Errors are one line (:class:`~mbcost.errors.MbcostError`): a file that does not
parse as ONNX, a graph whose shapes cannot be inferred, a symbolic input size
(give ``--input``), an operator of another domain.
"""

from __future__ import annotations

import math
from pathlib import Path

from mbcost.errors import MbcostError, input_file
from mbcost.graphs.fusion import fuse_gelu
from mbcost.graphs.opgraph import OpGraph, OpNode, module_of

#: Operators whose outputs are sizes, not data: what reads only them (and constants) is shape arithmetic.
SHAPE_OPS = frozenset({"Shape", "Size"})

#: (argument index -> role) of the parameters each operator reads; other constant arguments are not parameters.
PARAM_ROLES = {
    "Conv": {1: "weight", 2: "bias"},
    "ConvTranspose": {1: "weight", 2: "bias"},
    "Gemm": {0: "weight", 1: "weight", 2: "bias"},
    "MatMul": {0: "weight", 1: "weight"},
    "BatchNormalization": {1: "norm", 2: "norm"},  # 3, 4: running statistics, buffers
    "LayerNormalization": {1: "norm", 2: "norm"},
    "GroupNormalization": {1: "norm", 2: "norm"},
    "InstanceNormalization": {1: "norm", 2: "norm"},
    "PRelu": {1: "weight"},
}
#: elementwise operators whose array operands (more than one element) are parameters: weight, or bias after MatMul
ELEMENTWISE_PARAMS = frozenset({"Add", "Mul", "Sub", "Div"})


def parameter_position(op: str, k: int, dims) -> bool:
    """Whether an initializer read as argument ``k`` of an ``op`` node is a parameter (as :func:`read_graph` counts)."""
    return k in PARAM_ROLES.get(op, {}) or op in ELEMENTWISE_PARAMS and math.prod(dims) > 1


#: the ONNX metadata key under which a file mbcost wrote names its parameter values that are one torch tensor
#: (``mbcost.adapters.onnx_export.tied_parameters`` writes it)
TIED_KEY = "mbcost_tied_parameters"
#: the longest such metadata read (a name per parameter value, with room to spare)
MAX_TIED_CHARS = 4_000_000

#: the most bytes read from a file (a model's weights are inside it; 2 GiB is protobuf's own limit)
MAX_BYTES = 2 ** 31
#: the most operators a file may hold, its subgraphs' and functions' included (the zoo's largest has a few
#: thousand; reading and counting 100,000 take about 25 s here, benchmarks/RESULTS.md)
MAX_NODES = 100_000
#: how deeply graphs may nest in attributes (If, Loop, Scan bodies): real models nest one or two
MAX_GRAPH_DEPTH = 8


def require_onnx(what: str = "reading an ONNX file") -> None:
    import importlib.util

    if importlib.util.find_spec("onnx") is None:
        raise MbcostError(f"{what} needs the onnx package: pip install 'mbcost[onnx]'") from None


def load_proto(path: str | Path, data: bytes | None = None, screen=None):
    """The ModelProto in ``path`` (or in ``data``, bytes that came from ``path``),
    or one line saying why it is not an ONNX model. ``screen``: see :func:`read_graph`."""
    require_onnx()
    if data is None:
        file = input_file(path, "ONNX file")
        if file.stat().st_size > MAX_BYTES:
            raise MbcostError(f"{path} is over 2 GiB: ONNX keeps larger weights as external data; save it that way")
        data = file.read_bytes()
    check_structure(data, path)  # before protobuf builds anything
    if screen is not None:
        ops = data_operators(data)
        if ops is not None:  # else not well formed: the parser says so
            screen(ops, Path(path).stem)
    import onnx
    from google.protobuf.message import DecodeError

    try:
        model = onnx.load_model_from_string(data)
    except (DecodeError, ValueError, RuntimeError, UnicodeDecodeError) as exc:
        raise MbcostError(f"{path} is not an ONNX model (it does not parse as one: {_short(exc)})") from None
    if not model.ir_version or not model.graph.node:
        raise MbcostError(f"{path} is not an ONNX model (no IR version or no operators in its graph)")
    graph = model.graph
    names = [n for node in graph.node for n in (node.name, node.op_type, node.domain, *node.input, *node.output)]
    names += [v.name for part in (graph.input, graph.output, graph.initializer, graph.value_info) for v in part]
    if not all(isinstance(n, str) for n in names):  # protobuf gives bytes for a string that is not UTF-8
        raise MbcostError(f"{path} is not an ONNX model (a name in its graph is not UTF-8 text)")
    return model


# -- the file's structure, measured on the protobuf wire before it is parsed -----------------------------------
# Field numbers from onnx.proto: ModelProto.graph 7, .functions 25; GraphProto.node 1; FunctionProto.node 7;
# NodeProto.attribute 5; AttributeProto.g 6, .graphs 11.
_MODEL_GRAPH, _MODEL_FUNCTIONS, _GRAPH_NODE, _FUNCTION_NODE, _NODE_ATTRIBUTE, _ATTR_G, _ATTR_GRAPHS = 7, 25, 1, 7, 5, 6, 11
# GraphProto.initializer 5, .input 11; NodeProto.input 1, .output 2, .op_type 4; TensorProto.name 8; ValueInfoProto.name 1
_GRAPH_INITIALIZER, _GRAPH_INPUT, _NODE_INPUT, _NODE_OUTPUT, _NODE_OP_TYPE, _TENSOR_NAME, _VALUE_NAME = 5, 11, 1, 2, 4, 8, 1


def _fields(buf, start: int, end: int):
    """(field number, start, end) of every length-delimited field in ``buf[start:end]``;
    other wire types skipped. ValueError on a malformed message."""
    pos = start
    while pos < end:
        key, pos = _varint(buf, pos, end)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, pos = _varint(buf, pos, end)
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == 2:
            length, pos = _varint(buf, pos, end)
            if pos + length > end:
                raise ValueError("a field runs past its message")
            yield number, pos, pos + length
            pos += length
        else:
            raise ValueError(f"wire type {wire}")
    if pos != end:
        raise ValueError("a field runs past its message")


def _varint(buf, pos: int, end: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= end or shift > 63:
            raise ValueError("a truncated number")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def data_operators(data: bytes) -> list[str] | None:
    """The operator types of the data operators of a serialized ModelProto's
    graph (not its subgraphs'), read from the protobuf wire as :func:`read_graph`
    tells them: an operator that reads a graph input (one that is not an
    initializer) or a data operator's output, other than Shape and Size. None
    where the message is not well formed."""
    buf = memoryview(data)
    nodes, inputs, initializers = [], [], set()
    try:
        for number, gs, ge in _fields(buf, 0, len(buf)):
            if number != _MODEL_GRAPH:
                continue
            for field, s, e in _fields(buf, gs, ge):
                if field == _GRAPH_NODE:
                    nodes.append((s, e))
                elif field in (_GRAPH_INITIALIZER, _GRAPH_INPUT):
                    name = _last(buf, s, e, _TENSOR_NAME if field == _GRAPH_INITIALIZER else _VALUE_NAME)
                    (initializers.add if field == _GRAPH_INITIALIZER else inputs.append)(name)
        data_names = {name for name in inputs if name not in initializers}
        ops = []
        for s, e in nodes:
            ins, outs, op = [], [], b""
            for field, fs, fe in _fields(buf, s, e):
                if field == _NODE_INPUT:
                    ins.append(bytes(buf[fs:fe]))
                elif field == _NODE_OUTPUT:
                    outs.append(bytes(buf[fs:fe]))
                elif field == _NODE_OP_TYPE:
                    op = bytes(buf[fs:fe])
            if op not in (b"Shape", b"Size") and any(i in data_names for i in ins):
                data_names.update(o for o in outs if o)
                ops.append(op.decode("utf-8", "replace"))
    except ValueError:
        return None
    return ops


def _last(buf, start: int, end: int, number: int) -> bytes:
    """The last value of the string field ``number`` in a message (protobuf's rule), b"" where none."""
    value = b""
    for field, s, e in _fields(buf, start, end):
        if field == number:
            value = bytes(buf[s:e])
    return value


def check_structure(data: bytes, path) -> None:
    """Count the operators of a serialized ModelProto (subgraphs and functions
    included) and how deeply its graphs nest, reading only the protobuf wire
    format (weights and other fields are skipped by their lengths): more than
    MAX_NODES operators or MAX_GRAPH_DEPTH levels is refused before protobuf
    parses the file. A file that is not a protobuf message is left to the parser
    to describe."""
    buf = memoryview(data)
    nodes = 0
    # (start, end, what, depth): what is "model", "graph", "function", "node" or "attribute"
    stack = [(0, len(buf), "model", 0)]
    children = {
        "model": {_MODEL_GRAPH: "graph", _MODEL_FUNCTIONS: "function"},
        "graph": {_GRAPH_NODE: "node"},
        "function": {_FUNCTION_NODE: "node"},
        "node": {_NODE_ATTRIBUTE: "attribute"},
        "attribute": {_ATTR_G: "graph", _ATTR_GRAPHS: "graph"},
    }
    try:
        while stack:
            start, end, what, depth = stack.pop()
            wanted = children[what]
            for number, s, e in _fields(buf, start, end):
                kind = wanted.get(number)
                if kind is None:
                    continue
                if kind == "node":
                    nodes += 1
                    if nodes > MAX_NODES:
                        raise MbcostError(f"{path} has more than {MAX_NODES:,} operators (subgraphs included);"
                                          f" mbcost reads at most {MAX_NODES:,}")
                inner = depth + 1 if kind == "graph" and what == "attribute" else depth
                if inner > MAX_GRAPH_DEPTH:
                    raise MbcostError(f"{path} nests graphs in attributes (If, Loop, Scan bodies) more than"
                                      f" {MAX_GRAPH_DEPTH} deep; mbcost reads at most {MAX_GRAPH_DEPTH}")
                stack.append((s, e, kind, inner))
    except ValueError:
        return  # not a well-formed message: the parser says so in its own words


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _dims_of(type_proto) -> tuple | None:
    """A tensor type's dims: ints, a symbol's name (str) where symbolic; None when unknown."""
    if not type_proto.HasField("tensor_type") or not type_proto.tensor_type.HasField("shape"):
        return None
    out = []
    for d in type_proto.tensor_type.shape.dim:
        if d.HasField("dim_value"):
            out.append(int(d.dim_value))
        else:
            out.append(d.dim_param or "?")
    return tuple(out)


def _set_input_dims(model, name: str, dims: tuple[int, ...]) -> None:
    for value in model.graph.input:
        if value.name == name:
            shape = value.type.tensor_type.shape
            del shape.dim[:]
            for d in dims:
                shape.dim.add().dim_value = int(d)


def read_graph(path: str | Path, input_shape: tuple[int, ...] | None = None, data: bytes | None = None,
               screen=None) -> OpGraph:
    """The data operators of the ONNX model at ``path`` (or in ``data``), every
    value's dims inferred; ``input_shape`` replaces the (single) input's declared dims.
    ``screen(ops, name)``, where given, sees the operator types of the data
    operators (those the graph will hold, :func:`data_operators`) read from the
    wire, before onnx parses the file, and may refuse them (``mbcost export``:
    more layers than a spec may make)."""

    model = load_proto(path, data, screen)  # before onnx is imported: a screen refuses at once
    import onnx

    graph = model.graph
    init = {t.name: t for t in graph.initializer}
    data_inputs = [v for v in graph.input if v.name not in init]
    if not data_inputs:
        raise MbcostError(f"{path}: the graph has no input")
    if input_shape is not None:
        if len(data_inputs) != 1:
            raise MbcostError(f"{path}: --input sets one input, but the graph has {len(data_inputs)}: "
                              f"{', '.join(v.name for v in data_inputs)}")
        declared = _dims_of(data_inputs[0].type)
        if declared is not None and len(declared) != len(input_shape):
            raise MbcostError(f"{path}: --input has {len(input_shape)} dims, the graph's input "
                              f"'{data_inputs[0].name}' has {len(declared)}")
        _set_input_dims(model, data_inputs[0].name, input_shape)
    for v in data_inputs:
        dims = _dims_of(v.type)
        if dims is None or any(not isinstance(d, int) or d <= 0 for d in dims):
            shown = "x".join(str(d) for d in dims) if dims else "unknown"
            raise MbcostError(f"{path}: input '{v.name}' has size {shown}; give the size with --input "
                              "(e.g. --input 1x3x224x224)")
    for node in graph.node:
        if node.domain not in ("", "ai.onnx"):
            raise MbcostError(f"{path}: node '{node.name or node.op_type}' uses operator {node.domain}::"
                              f"{node.op_type}, which mbcost cannot count (only the standard ONNX domain)")
    data_names = _data_values(graph, {v.name for v in data_inputs})
    # parameters: the file's initializers, and Identity copies of them (torch.onnx.export writes each parameter
    # whose values equal an earlier one's as an Identity of it: a distinct parameter with the same values)
    param_names = set(init)
    for node in graph.node:
        if node.op_type == "Identity" and node.input and node.input[0] in param_names:
            param_names.add(node.output[0])
    ties = read_ties(model, param_names)
    model, known = _fold_static(model, data_names, path)
    try:
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
    except Exception as exc:  # noqa: BLE001 - onnx raises several kinds; all mean the same here
        raise MbcostError(f"{path}: ONNX shape inference failed: {_short(exc)}") from None
    init = {t.name: t for t in inferred.graph.initializer}

    dims: dict[str, tuple] = {}
    for value in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output):
        d = _dims_of(value.type)
        if d is not None:
            dims[value.name] = d
    for name, t in init.items():
        dims[name] = tuple(int(x) for x in t.dims)

    consts = {name: value.reshape(-1).tolist() for name, value in known.items() if value.size <= 64}
    alias = {}  # Identity of a parameter -> the parameter (torch exports shared weights that way)
    data = {v.name for v in data_inputs}
    nodes: list[OpNode] = []
    # each parameter value (or group of values the file says are one torch tensor) is counted once, credited to
    # the first module that reads it; a later module records that it shares it
    owner: dict = {}
    shared: dict[str, tuple[int, str]] = {}
    for index, node in enumerate(inferred.graph.node):
        name = node.name or f"{node.op_type}_{index}"
        module = module_of(name)
        if node.op_type == "Constant":
            continue
        if node.op_type == "Identity" and node.input[0] in param_names:
            alias[node.output[0]] = alias.get(node.input[0], node.input[0])
            continue
        if not any(i in data for i in node.input) or node.op_type in SHAPE_OPS:
            continue  # constants and shape arithmetic
        args: list[str | None] = []
        params = []
        for k, arg in enumerate(node.input):
            if arg in data:
                args.append(arg)
                continue
            args.append(None)
            source = alias.get(arg, arg)
            if arg not in param_names or source not in init:
                continue
            role = PARAM_ROLES.get(node.op_type, {}).get(k)
            if role is None and node.op_type in ELEMENTWISE_PARAMS and math.prod(init[source].dims) > 1:
                prev = [n for n in nodes if any(o in node.input for o in n.outputs)]
                role = "bias" if node.op_type == "Add" and prev and prev[-1].op == "MatMul" else "weight"
            if role is None:
                continue
            param_dims = tuple(int(x) for x in init[source].dims)
            key = ties.groups.get(arg, arg)
            first = owner.get(key)
            if first is None:
                owner[key] = module
                params.append((k, param_dims, role))
            elif first != module:
                count, _ = shared.get(module, (0, first))
                shared[module] = (count + math.prod(param_dims), first)
        for out in node.output:
            if out:
                data.add(out)
        arg_dims = [_int_dims(dims.get(alias.get(a, a))) if a else None for a in node.input]
        nodes.append(OpNode(
            name=name, op=node.op_type, module=module, inputs=args,
            outputs=[o for o in node.output if o], attrs={a.name: _attr(a) for a in node.attribute},
            params=params, arg_dims=arg_dims,
            consts={k: consts[alias.get(a, a)] for k, a in enumerate(node.input) if alias.get(a, a) in consts},
        ))
    value_dims = {}
    for node in nodes:
        for v in node.outputs:
            d = dims.get(v)
            if d is None or any(not isinstance(x, int) for x in d):
                raise MbcostError(f"{path}: the size of '{v}' (output of node '{node.name}', {node.op}) could not "
                                  "be inferred; give a fixed --input")
            value_dims[v] = d
    for v in data_inputs:
        value_dims[v.name] = dims[v.name]
    producer = model.producer_name + (f" {model.producer_version}" if model.producer_version else "")
    read = OpGraph(name=Path(path).stem, nodes=nodes, dims=value_dims, inputs=[v.name for v in data_inputs],
                   outputs=[v.name for v in graph.output], source=f"{path} (ONNX, from {producer or 'unknown'})",
                   shared=shared, ties_known=ties.known, notes=ties.notes)
    return fuse_gelu(read)  # GELU written as its formula at opset 17: one Gelu, as the torch and spec routes count it


class Ties:
    """What a file says about its parameter values that are one torch tensor:
    ``groups`` (value name -> its group's key), ``known`` (the file says, in
    mbcost's metadata), ``notes`` (lines for the heading)."""

    def __init__(self, groups: dict | None = None, known: bool = False, notes: list[str] | None = None) -> None:
        self.groups = groups or {}
        self.known = known
        self.notes = notes or []


def read_ties(model, param_names: set[str]) -> Ties:
    """The file's :data:`TIED_KEY` metadata, checked as untrusted input: a JSON
    object ``{"groups": [[value, ...], ...], "unmatched": n}`` whose groups are
    disjoint, of two or more parameter values of this graph each, every value of
    a group with as many elements. None there (a file from elsewhere): no value
    is taken for another, whatever their elements (distinct batch norms hold
    equal ones and zeros). Malformed: ignored, and a note says so."""
    import json

    entries = [p.value for p in model.metadata_props if p.key == TIED_KEY]
    if not entries:
        return Ties()
    def malformed(why: str) -> Ties:
        return Ties(notes=[f"the file's {TIED_KEY} metadata (which parameter values are one tensor) is malformed "
                           f"({why}): ignored, each initializer counted as a parameter of its own"])

    text = entries[-1]
    if len(entries) > 1:
        return malformed(f"{len(entries)} entries")
    if not isinstance(text, str) or len(text) > MAX_TIED_CHARS:
        return malformed(f"over {MAX_TIED_CHARS:,} characters")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return malformed("not JSON")
    if not isinstance(data, dict) or set(data) != {"groups", "unmatched"} or not isinstance(data["groups"], list) \
            or type(data["unmatched"]) is not int or data["unmatched"] < 0:
        return malformed('not {"groups": [[value, ...], ...], "unmatched": n}')
    sizes = _param_sizes(model, param_names)
    groups: dict[str, tuple] = {}
    for i, group in enumerate(data["groups"]):
        if not isinstance(group, list) or len(group) < 2 or not all(isinstance(v, str) for v in group):
            return malformed(f"group {i + 1} is not a list of two or more names")
        for v in group:
            if v not in param_names:
                return malformed(f"group {i + 1} names '{_short(v)}', not a parameter value of the graph")
            if v in groups:
                return malformed(f"'{_short(v)}' is in two groups")
            groups[v] = ("tied", i)
        if len({sizes.get(v) for v in group}) != 1:
            return malformed(f"group {i + 1}'s values have different numbers of elements")
    notes = []
    if data["unmatched"]:
        n = data["unmatched"]
        notes.append(f"{n:,} {'tensor' if n == 1 else 'tensors'} shared by several modules of the torch model could "
                     "not be matched to the file's initializers when mbcost wrote it: each of their initializers counts")
    return Ties(groups, True, notes)


def _param_sizes(model, param_names: set[str]) -> dict[str, int]:
    """Each parameter value's number of elements (an Identity's: its initializer's)."""
    sizes = {t.name: math.prod(t.dims) for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Identity" and node.input and node.input[0] in sizes and node.output:
            sizes[node.output[0]] = sizes[node.input[0]]
    return {v: sizes[v] for v in param_names if v in sizes}


def _data_values(graph, inputs: set[str]) -> set[str]:
    """The values computed from the graph's inputs (not through Shape/Size: sizes are static)."""
    data = set(inputs)
    for node in graph.node:
        if node.op_type not in SHAPE_OPS and any(i in data for i in node.input):
            data.update(o for o in node.output if o)
    return data


#: the most passes of folding (each can fix the sizes the next pass needs)
_FOLD_PASSES = 20


def _fold_static(model, data: set[str], path):
    """``model`` with its static subgraphs folded into initializers: the size
    arithmetic exporters write for a pad or a reshape (``Shape`` of a value whose
    size is known, then ``Gather``, ``Concat``, ``ConstantOfShape``...), evaluated
    with ONNX's reference evaluator, so that shape inference can size what follows.
    Returns the model and every static value found (name -> numpy array)."""
    import numpy as np
    import onnx
    from onnx import numpy_helper
    from onnx.reference import ReferenceEvaluator

    known = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer
             if math.prod(t.dims) <= 4096 and t.data_location != onnx.TensorProto.EXTERNAL}
    for _ in range(_FOLD_PASSES):
        try:
            inferred = onnx.shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
        except Exception as exc:  # noqa: BLE001
            raise MbcostError(f"{path}: ONNX shape inference failed: {_short(exc)}") from None
        dims = {}
        for value in list(inferred.graph.value_info) + list(inferred.graph.input):
            d = _dims_of(value.type)
            if d is not None and all(isinstance(x, int) for x in d):
                dims[value.name] = d
        new = False
        for node in model.graph.node:
            if not node.output or node.output[0] in known or node.output[0] in data and node.op_type not in SHAPE_OPS:
                continue
            if node.op_type == "Constant":
                attr = next((a for a in node.attribute if a.name == "value"), None)
                if attr is not None:
                    known[node.output[0]] = numpy_helper.to_array(attr.t)
                    new = True
                continue
            if node.op_type in SHAPE_OPS:
                d = dims.get(node.input[0])
                if d is None:
                    continue
                if node.op_type == "Size":
                    known[node.output[0]] = np.array(math.prod(d), dtype=np.int64)
                else:
                    attrs = {a.name: a.i for a in node.attribute}
                    known[node.output[0]] = np.array(d[attrs.get("start", 0):attrs.get("end", len(d))], np.int64)
                new = True
                continue
            if not all(i == "" or i in known for i in node.input):
                continue
            try:
                values = ReferenceEvaluator(node).run(None, {i: known[i] for i in node.input if i})
            except Exception:  # noqa: BLE001 - an operator the reference cannot run: leave it to inference
                continue
            for name, value in zip(node.output, values):
                if name:
                    known[name] = np.asarray(value)
            new = True
        if not new:
            break
        model = _with_folded(model, known, data)
    return model, known


def _with_folded(model, known: dict, data: set[str]):
    """A copy of ``model`` whose static nodes (all outputs known, not data) are
    replaced by initializers holding their values."""
    import onnx
    from onnx import numpy_helper

    out = onnx.ModelProto()
    out.CopyFrom(model)
    keep, added = [], []
    existing = {t.name for t in out.graph.initializer}
    for node in out.graph.node:
        outputs = [o for o in node.output if o]
        if outputs and all(o in known and o not in data for o in outputs):
            added.extend(o for o in outputs if o not in existing)
            continue
        keep.append(node)
    del out.graph.node[:]
    out.graph.node.extend(keep)
    out.graph.initializer.extend(numpy_helper.from_array(known[name], name) for name in added)
    return out


def _int_dims(d):
    if d is None or any(not isinstance(x, int) for x in d):
        return None
    return tuple(d)


def _attr(attr):
    """An attribute's value as plain Python (ints, floats, strings, lists of them)."""
    from onnx import helper

    value = helper.get_attribute_value(attr)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (list, tuple)):
        return [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in value]
    if isinstance(value, (int, float, str)):
        return value
    return None  # a tensor or graph attribute: not needed to count
