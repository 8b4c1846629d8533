"""ONNX files (``.onnx``): read with the ``onnx`` package, counted from the graph
by one handle per ONNX operator (:mod:`mbcost.adapters.onnx_count`). A fixed
model: its only setting is the input size where the file's is symbolic."""

from __future__ import annotations

import os

from mbcost.errors import MbcostError
from mbcost.sources.registry import Source, register


def is_onnx_path(arg) -> bool:
    return isinstance(arg, (str, os.PathLike)) and str(arg).lower().endswith(".onnx")


def _shape(input_size):
    from mbcost.adapters.torch_model import parse_input

    if input_size is None:
        return None
    return parse_input(input_size) if isinstance(input_size, str) else tuple(int(d) for d in input_size)


def table(path, *, count=("conv", "fc"), params=None, input_size=None):
    from mbcost.adapters.onnx_count import analyze_onnx

    return analyze_onnx(path, _shape(input_size), count=count, params=params)


def op_graph(path, input_size=None):
    from mbcost.adapters.onnx_model import read_graph

    return read_graph(path, _shape(input_size)), f"{path}"


def onnx_bytes(path, input_size=None) -> bytes:
    raise MbcostError(f"{path} is ONNX already (copy the file)")


register(Source(
    name="onnx", what="ONNX files", label="ONNX", recognises=is_onnx_path, order=20,
    settings=("input_size",), table=table, op_graph=op_graph, onnx_bytes=onnx_bytes,
    hint="an ONNX model is fixed: give --input (input_size=) where its input size is symbolic; "
         "mbcost export model.onnx --output net.spec writes it as a spec to scale",
))
