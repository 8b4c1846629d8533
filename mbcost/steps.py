"""Work written as steps: a generator that yields the calls to make and is sent
their results, so that whoever runs it makes each call in its own frame.

Why: the torch route's count is fvcore's JIT trace, and PyTorch's tracer records
every operator and every constant argument with its Python source location,
walking the whole Python stack each time (``_pythonCallstack`` in
torch/csrc/jit/python/python_tracer.cpp; PyTorch has no switch to turn it off).
Each frame between the user's call and the trace costs about 1 ms of a small
mobile model's count. A count written as steps keeps its helpers, and the
``with`` blocks they hold open (the meta tensors, the hooks, the meta kernels),
suspended and off the stack while the trace runs in the frame that runs them
(``mbcost.analyze``'s, which writes :func:`run`'s loop out for that: one frame
fewer). Pure Python.
"""

from __future__ import annotations


def run(steps):
    """The value the generator ``steps`` returns: each zero-argument call it
    yields is made here and its result sent back (or its exception thrown in,
    where the steps' own ``except`` and ``finally`` blocks see it)."""
    result = error = None
    while True:
        try:
            call = steps.send(result) if error is None else steps.throw(error)
        except StopIteration as done:
            return done.value
        try:
            result, error = call(), None
        except BaseException as exc:  # noqa: BLE001 - thrown into the steps: an interrupt still restores the model
            result, error = None, exc


def done(value):
    """Steps that yield no call and return ``value`` (work made already)."""
    return value
    yield  # a generator: never reached
