"""Torch models: a ``torch.nn.Module`` already built (the library), or
``pkg.module:factory`` / ``file.py:factory`` (``--torch``, named by its option
since a spec argument may contain ':'). Counted by fvcore per module on the meta
device (CPU when the model needs real tensors). torch is imported inside only."""

from __future__ import annotations

from mbcost.sources.registry import Source, register
from mbcost.steps import done, run


def is_torch_module(obj) -> bool:
    """A ``torch.nn.Module`` instance, told without importing torch."""
    return any(c.__name__ == "Module" and c.__module__.startswith("torch.nn") for c in type(obj).__mro__)


def read_target(text: str | None) -> str | None:
    """``--torch``: its text read (at most 1,000 characters, literal arguments
    only) before anything imports torch, so that a bad one is refused at once."""
    if text is not None:
        from mbcost.adapters.torch_model import parse_target

        parse_target(text)
    return text


def table(arg, *, count=("conv", "fc"), params=None, input_size=None, inputs=None):
    return run(table_steps(arg, count=count, params=params, input_size=input_size, inputs=inputs))


def table_steps(arg, *, count=("conv", "fc"), params=None, input_size=None, inputs=None):
    if is_torch_module(arg):
        from mbcost.adapters.torch_model import user_module_steps

        return user_module_steps(arg, input_size, inputs, count=count, params=params)
    from mbcost.adapters import require_torch

    require_torch("--torch")
    from mbcost.adapters.torch_model import analyze_torch

    return done(analyze_torch(arg, input_size, count=count, params=params))


def _built(target, input_size):
    from mbcost.adapters.onnx_export import module_to_onnx
    from mbcost.adapters.torch_model import build_for_export

    model, shape = build_for_export(target, input_size)
    return module_to_onnx(model, shape, target), shape


def op_graph(target, input_size=None, screen=None):
    from mbcost.adapters.onnx_model import read_graph
    from mbcost.adapters.torch_model import parse_target

    data, shape = _built(target, input_size)
    graph = read_graph(target, data=data, screen=screen)
    graph.name = parse_target(target)[1].rsplit(".", 1)[-1]  # the factory's name
    return graph, f"the torch model {target} at input {'x'.join(str(d) for d in shape)}"


def onnx_bytes(target, input_size=None) -> bytes:
    return _built(target, input_size)[0]


register(Source(
    name="torch", what="torch models", label="torch", recognises=is_torch_module, order=10,
    settings=("input_size", "inputs"), table=table, table_steps=table_steps, op_graph=op_graph,
    onnx_bytes=onnx_bytes,
    hint="a torch model is built as its factory says: give --input (input_size=); mbcost export writes it as "
         "a spec to scale",
))
