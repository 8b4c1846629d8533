"""The real PyTorch build of a spec: module names, structure, parameters, and the
output shape of every layer in a forward pass.

Expected shapes and sizes are derived by hand from the paper's Table 1 (conftest's
TABLE1_BLOCKS) and from the padding rules written out in each test; the forward
pass itself is PyTorch's, not mbcost's."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")

from torch import nn  # noqa: E402

from mbcost.adapters.counters import fvcore_count, param_split  # noqa: E402
from mbcost.adapters.torch_modules import (  # noqa: E402
    Block,
    FlatLinear,
    SpecNet,
    Unit,
    build_module,
    input_tensor,
    materialize,
)
from mbcost.errors import MbcostError  # noqa: E402
from mbcost.core.network import Config, Network  # noqa: E402
from mbcost.results.zoo import load_network, model_names  # noqa: E402

from conftest import TABLE1_BLOCKS  # noqa: E402


def forward_shapes(module: SpecNet, x) -> dict[str, tuple[int, ...]]:
    """Each row module's output shape (N, C, H, W) in one forward pass."""
    shapes = {}
    handles = [m.register_forward_hook(lambda _m, _i, out, name=name: shapes.__setitem__(name, tuple(out.shape)))
               for name, m in module.rows.items()]
    with torch.no_grad():
        module(x)
    for h in handles:
        h.remove()
    return shapes


def assert_shapes_match(instances, device="meta"):
    module = build_module(instances, device)
    shapes = forward_shapes(module, input_tensor(instances, device))
    for inst in instances:
        expected = (1, inst.output.c, inst.output.h, inst.output.w)
        assert shapes[inst.layer.name] == expected, inst.layer.name
    return module


def mobilenet_shapes_by_hand(alpha: float, res: int) -> list[tuple[int, int, int]]:
    """(C, H, W) after each MobileNet row, from Table 1 and TF 'same' padding."""
    def ch(c):
        return math.floor(alpha * c)

    side = -(-res // 2)
    out = [(ch(32), side, side)]
    for stride, m, n in TABLE1_BLOCKS:
        side = -(-side // stride)
        out += [(ch(m), side, side), (ch(n), side, side)]
    return out + [(ch(1024), 1, 1), (1000, 1, 1), (1000, 1, 1)]


@pytest.mark.parametrize("alpha", [1, 0.75, 0.5, 0.25])
@pytest.mark.parametrize("res", [224, 192, 160, 128])
def test_mobilenet_forward_shapes_follow_table1(alpha, res):
    instances = load_network("mobilenet_v1").evaluate(Config.make(alpha=alpha, resolution=res))
    module = build_module(instances)
    shapes = forward_shapes(module, torch.zeros(1, 3, res, res, device="meta"))
    got = [shapes[inst.layer.name][1:] for inst in instances]
    assert got == mobilenet_shapes_by_hand(alpha, res)


@pytest.mark.parametrize("name", model_names())
@pytest.mark.parametrize("alpha,res", [(1, None), (0.5, 160), (0.25, 128)])
def test_every_builtin_spec_forward_gives_the_spec_shapes(name, alpha, res):
    if name == "alexnet":
        res = None  # the paper's AlexNet exists at its own 227x227 only (a fixed FC head)
    network = load_network(name)
    if network.preset_of:
        alpha = 1  # a preset's width is its definition (efficientnet_b2 is b0 at 1.1)
    assert_shapes_match(network.evaluate(Config.make(alpha=alpha, resolution=res)))


def test_module_names_are_the_spec_names():
    instances = load_network("mobilenet_v1").evaluate()
    module = build_module(instances)
    names = dict(module.named_modules())
    assert [inst.layer.name for inst in instances] == module.row_names
    for inst in instances:
        assert names[inst.layer.name] is module.rows[inst.layer.name]
    # a row with post ops is one module with the op, its batch norm and activation
    conv1 = names["conv1"]
    assert isinstance(conv1, Unit)
    assert list(dict(conv1.named_children())) == ["pad", "conv", "bn", "act"]  # 224: TF pads 0 before, 1 after
    assert isinstance(names["fc1"], FlatLinear)
    assert all(p.is_meta for p in module.parameters())


BRANCHY = """
input 33x33x16
after conv: relu
block fire(s, e1, e3) {
  squeeze: conv 1x1x?x{s}
  concat {
    branch e1x1 { conv 1x1x{s}x{e1} }
    branch e3x3 { conv 3x3x{s}x{e3} pad=1 }
  }
}
fire2: fire(8, 16, 16)
block ir(t, c) {
  residual {
    conv 1x1x{c}x{t} +bn +relu6
    dw 3x3x{t} +bn +relu6
    conv 1x1x{t}x{c} +bn
  }
}
conv 1x1x32x16
2x ir(48, 16)
gap
fc 16x10
"""


def test_dotted_names_are_nested_modules_and_the_dag_runs():
    instances = Network.from_text(BRANCHY).evaluate()
    module = assert_shapes_match(instances)
    names = dict(module.named_modules())
    for dotted in ("fire2.squeeze", "fire2.e1x1.conv1", "fire2.e3x3.conv1", "fire2.concat1", "ir1.add1"):
        assert dotted in names
    assert isinstance(names["fire2"], Block) and isinstance(names["fire2.e3x3"], Block)
    assert names["fire2"].get_submodule("e3x3.conv1") is names["fire2.e3x3.conv1"]
    # the concat joins 16 + 16 channels; the residual keeps 16
    shapes = forward_shapes(module, input_tensor(instances))
    assert shapes["fire2.concat1"] == (1, 32, 33, 33)
    assert shapes["ir2.add1"] == (1, 16, 33, 33)
    # fvcore's per-module keys are the spec names: 1·1·32·16·33·33 for conv1 (hand)
    counts = fvcore_count(module, (input_tensor(instances),), {"conv", "fc"})
    assert counts.by_module["conv1"] == 32 * 16 * 33 * 33
    assert counts.by_module["fire2.e3x3.conv1"] == 3 * 3 * 8 * 16 * 33 * 33
    assert counts.by_module["fire2"] == (16 * 8 + 8 * 16 + 9 * 8 * 16) * 33 * 33


def test_a_layer_named_like_a_module_method_still_builds():
    net = Network.from_text("input 8x8x3\nforward: conv 3x3x3x4\neval: conv 1x1x4x4\n")
    module = assert_shapes_match(net.evaluate())
    assert module.row_names == ["forward", "eval"]
    assert dict(module.named_modules())["forward"].out_channels == 4
    counts = fvcore_count(module, (input_tensor(net.evaluate()),), {"conv"})
    assert counts.by_module["forward"] == 3 * 3 * 3 * 4 * 8 * 8


def test_a_layer_named_like_a_module_attribute_is_refused_clearly():
    net = Network.from_text("input 8x8x3\ntraining: conv 3x3x3x4\n")
    with pytest.raises(MbcostError, match="'training' is an attribute of every torch module"):
        build_module(net.evaluate())


@pytest.mark.parametrize("line,side,pads,out", [
    # TF 'same': out = ceil(side / stride); total = (out - 1)·stride + k - side, the odd pixel after
    ("conv / s2 3x3x3x4", 8, (0, 1, 0, 1), 4),   # total 1: asymmetric, explicit ZeroPad2d
    ("conv / s2 3x3x3x4", 7, (1, 1, 1, 1), 4),   # total 2: symmetric, Conv2d's own padding
    ("conv / s1 5x5x3x4", 6, (2, 2, 2, 2), 6),
    ("conv / s2 4x4x3x4", 9, (1, 2, 1, 2), 5),   # total (5-1)·2 + 4 - 9 = 3
])
def test_same_padding(line, side, pads, out):
    instances = Network.from_text(f"input {side}x{side}x3\n{line}\n").evaluate()
    assert instances[0].pads == pads
    module = assert_shapes_match(instances)
    row = module.rows["conv1"]
    top, bottom, left, right = pads
    if top == bottom and left == right:
        assert isinstance(row, nn.Conv2d) and row.padding == (top, left)
    else:
        assert isinstance(row, Unit) and row.pad.padding == (left, right, top, bottom)
        assert row.conv.padding == (0, 0)
    assert instances[0].output.h == out


@pytest.mark.parametrize("line,side,out", [
    ("conv 3x5x3x4 pad=valid", 9, (7, 5)),          # rectangular kernel: 9-3+1, 9-5+1
    ("conv / s2x1 3x3x3x4 pad=1x2", 9, (5, 11)),    # (9+2-3)//2+1, (9+4-3)//1+1
    ("conv 3x3x3x4 dil=2 pad=valid", 9, (5, 5)),    # span 5
    ("conv 3x3x4x8 groups=2", 9, (9, 9)),
    ("dw 3x3x3 mult=2", 9, (9, 9)),
    ("maxpool / s2 3x3 pad=same", 8, (4, 4)),       # asymmetric: -inf padding, then no padding
    ("avgpool / s2 3x3 pad=same", 9, (5, 5)),
    ("maxpool / s1 3x3 pad=2", 6, (8, 8)),          # pad 2 > 3 // 2: PyTorch refuses it natively
    ("maxpool / s2 2x2 pad=1 ceil=yes", 7, (4, 4)),  # ceil gives 5, but the 5th window starts in the padding
    ("maxpool / s2 2x2 pad=2 ceil=yes", 7, (5, 5)),
    ("avgpool / s2 3x3 ceil=yes", 8, (4, 4)),
    ("gmp", 5, (1, 1)),
])
def test_window_layers_give_the_spec_shape(line, side, out):
    channels = 4 if "groups" in line else 3
    instances = Network.from_text(f"input {side}x{side}x{channels}\n{line}\n").evaluate()
    assert (instances[0].output.h, instances[0].output.w) == out
    assert_shapes_match(instances)


def test_fc_flattens_and_post_ops_follow_it():
    text = "input 4x4x8\nflatten\nfc 128x10 +bn +relu\nbn\nrelu6\ndropout p=0.2\nsoftmax\n"
    instances = Network.from_text(text).evaluate()
    module = assert_shapes_match(instances)
    fc = module.rows["fc1"]
    assert isinstance(fc, Unit) and list(dict(fc.named_children())) == ["fc", "bn", "act"]
    assert fc.fc.in_features == 128 and fc.fc.bias is None  # batch norm follows: no bias
    assert module.rows["dropout1"].p == 0.2


def test_parameters_by_row_match_the_module():
    instances = load_network("mobilenet_v1").evaluate()
    module = build_module(instances)
    # Table 1 by hand: conv1 3·3·3·32 weights, batch norm scale + shift 2·32, no bias
    assert param_split(module.rows["conv1"]) == (864, 0, 64)
    assert param_split(module.rows["dw1"]) == (288, 0, 64)
    assert param_split(module.rows["fc1"]) == (1024 * 1000, 1000, 0)
    weights = sum(param_split(m)[0] for m in module.rows.values())
    assert weights == sum(p.numel() for n, p in module.named_parameters() if n.endswith("conv.weight")
                          or n.endswith("fc1.weight"))


def test_materialize_gives_zero_weights_on_cpu():
    instances = Network.from_text("input 8x8x3\nconv 3x3x3x4 +bn +relu\n").evaluate()
    module = materialize(build_module(instances))
    assert all(p.device.type == "cpu" and not p.any() for p in module.parameters())
    bn = module.rows["conv1"].bn
    assert bool((bn.running_var == 1).all())
    out = module(input_tensor(instances, "cpu"))
    assert out.shape == (1, 4, 8, 8)
