"""The three routes agree on random small models drawn from the operator table
(issue 21): ``padding="same"`` convolutions with odd and even kernels and
dilation, attention with and without ``need_weights``, tied weights. Each model
is counted by the torch route, the ONNX route (export at the project's opset)
and, where the spec language can write it, the spec route; all must equal a
counter written here from the formulas."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")
pytest.importorskip("onnx")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from torch import nn  # noqa: E402

import mbcost  # noqa: E402
from mbcost.adapters.onnx_count import analyze_graph  # noqa: E402
from mbcost.adapters.onnx_export import module_to_onnx  # noqa: E402
from mbcost.adapters.onnx_model import read_graph  # noqa: E402
from mbcost.core.network import Network  # noqa: E402
from mbcost.graphs.spec_writer import write_spec  # noqa: E402


class Drawn(nn.Module):
    def __init__(self, convs, heads, need_weights, tied, classes):
        super().__init__()
        layers, c = [], 3
        for k, d, out in convs:
            layers.append(nn.Conv2d(c, out, k, padding="same", dilation=d, bias=False))
            c = out
        self.convs = nn.Sequential(*layers)
        self.mha = nn.MultiheadAttention(c, heads, batch_first=True) if heads else None
        self.need_weights = need_weights
        if tied:
            self.a = nn.Linear(c, c, bias=False)
            self.b = nn.Linear(c, c, bias=False)
            self.b.weight = self.a.weight
        self.tied = tied
        self.fc = nn.Linear(c, classes)

    def forward(self, x):
        x = self.convs(x)
        if self.mha is None and not self.tied:  # global pooling: a network the spec language writes
            return self.fc(x.mean((2, 3)))
        t = x.flatten(2).transpose(1, 2)
        if self.mha is not None:
            t = self.mha(t, t, t, need_weights=self.need_weights)[0]
        if self.tied:
            t = self.b(self.a(t))
        return self.fc(t.mean(1))


@st.composite
def drawn(draw):
    side = draw(st.sampled_from([4, 5, 6]))
    convs = [(draw(st.integers(1, 4)), draw(st.integers(1, 2)), draw(st.sampled_from([4, 6, 8])))
             for _ in range(draw(st.integers(1, 2)))]
    heads = draw(st.sampled_from([0, 1, 2]))
    need = draw(st.booleans())
    tied = draw(st.booleans())
    classes = draw(st.integers(2, 5))
    return side, convs, heads, need, tied, classes


def by_formula(side, convs, heads, need, tied, classes) -> tuple[int, int]:
    """(Mult-Adds with conv and fc counted, parameters), from the formulas of docs/spec-format.md."""
    hw, c, mult_adds, params = side * side, 3, 0, 0
    for k, _, out in convs:
        mult_adds += k * k * c * out * hw
        params += k * k * c * out
        c = out
    tokens, e = hw, c
    if heads:
        mult_adds += 3 * tokens * e * e + tokens * tokens * e + tokens * tokens * e + tokens * e * e
        params += 4 * e * e + 4 * e
    if tied:
        mult_adds += 2 * tokens * e * e
        params += e * e  # one tensor, counted once
    mult_adds += e * classes
    params += e * classes + classes
    return mult_adds, params


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drawn())
def test_torch_onnx_and_spec_routes_equal_the_formulas(case):
    side, convs, heads, need, tied, classes = case
    torch.manual_seed(0)
    model = Drawn(convs, heads, need, tied, classes).eval()
    shape = (1, 3, side, side)
    mult_adds, params = by_formula(*case)

    t = mbcost.analyze(model, input_size=shape)
    assert (t.total.mult_adds, t.total.params) == (mult_adds, params) and t.complete

    graph = read_graph("drawn", data=module_to_onnx(model, shape, "drawn"))
    o = analyze_graph(graph)
    assert (o.total.mult_adds, o.total.params) == (mult_adds, params) and o.complete

    if not heads and not tied:  # the spec language has no attention and no shared weights
        spec = mbcost.analyze(Network.from_text(write_spec(graph, name="drawn").text), params="all")
        assert (spec.total.mult_adds, spec.total.params) == (mult_adds, params)
