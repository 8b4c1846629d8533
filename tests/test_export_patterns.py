"""Export handles what real code writes (issue 21): h-swish as
``x * relu6(x + 3) / 6`` and h-sigmoid as ``relu6(x + 3) / 6`` (pytorchcv's
MobileNetV3), swish as ``x * sigmoid(x)``, GhostNet's ghost module and DenseNet's
concatenation with the block's own input. Each becomes a spec whose count, every
group, equals the torch route's and the ONNX route's, module by module; the
expected totals are derived by hand."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")
pytest.importorskip("onnx")
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

import mbcost  # noqa: E402
from mbcost.adapters.onnx_count import analyze_graph  # noqa: E402
from mbcost.adapters.onnx_export import module_to_onnx  # noqa: E402
from mbcost.adapters.onnx_model import read_graph  # noqa: E402
from mbcost.adapters.torch_model import analyze_module  # noqa: E402
from mbcost.core.network import Config, Network  # noqa: E402
from mbcost.graphs.export import ALL_GROUPS, verify  # noqa: E402
from mbcost.graphs.spec_writer import write_spec  # noqa: E402

EVERY = Config.make(count=ALL_GROUPS, params="all")


class HSwish(nn.Module):  # pytorchcv.models.common.HSwish
    def forward(self, x):
        return x * F.relu6(x + 3.0, inplace=True) / 6.0


class HSigmoid(nn.Module):  # pytorchcv.models.common.HSigmoid
    def forward(self, x):
        return F.relu6(x + 3.0, inplace=True) / 6.0


class Swish(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(x)


class SE(nn.Module):  # pytorchcv's SEBlock with an h-sigmoid gate, as in MobileNetV3
    def __init__(self, c, mid):
        super().__init__()
        self.conv1 = nn.Conv2d(c, mid, 1)
        self.activ = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(mid, c, 1)
        self.sigmoid = HSigmoid()

    def forward(self, x):
        w = F.adaptive_avg_pool2d(x, 1)
        return x * self.sigmoid(self.conv2(self.activ(self.conv1(w))))


class MobileNetV3ish(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.hswish = HSwish()
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False)
        self.se = SE(8, 4)
        self.swish = Swish()
        self.gate = HSigmoid()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        x = self.swish(self.se(self.dw(self.hswish(self.bn(self.conv(x))))))
        return self.fc(torch.flatten(self.pool(self.gate(x)), 1))


class Ghost(nn.Module):  # GhostNet's ghost module: cat(x1, cheap(x1))
    def __init__(self, c, out):
        super().__init__()
        self.primary = nn.Sequential(nn.Conv2d(c, out // 2, 1, bias=False), nn.BatchNorm2d(out // 2), nn.ReLU())
        self.cheap = nn.Sequential(nn.Conv2d(out // 2, out // 2, 3, padding=1, groups=out // 2, bias=False),
                                   nn.BatchNorm2d(out // 2), nn.ReLU())

    def forward(self, x):
        x1 = self.primary(x)
        return torch.cat((x1, self.cheap(x1)), dim=1)


class Dense(nn.Module):  # a DenseNet-121-like block: every layer's output concatenated with its input
    def __init__(self, c, growth, layers):
        super().__init__()
        self.units = nn.ModuleList(
            nn.Sequential(nn.BatchNorm2d(c + k * growth), nn.ReLU(), nn.Conv2d(c + k * growth, 2 * growth, 1,
                                                                              bias=False),
                          nn.BatchNorm2d(2 * growth), nn.ReLU(), nn.Conv2d(2 * growth, growth, 3, padding=1,
                                                                           bias=False))
            for k in range(layers))

    def forward(self, x):
        for unit in self.units:
            x = torch.cat((x, unit(x)), dim=1)
        return x


class GhostDense(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.ghost = Ghost(8, 16)
        self.dense = Dense(16, 4, 2)

    def forward(self, x):
        return self.dense(self.ghost(self.stem(x)))


def routes(model, shape):
    model = model.eval()
    torch_table = analyze_module(model, shape, EVERY, name="m")
    graph = read_graph("m", data=module_to_onnx(model, shape, "m"))
    onnx_table = analyze_graph(graph, count=ALL_GROUPS)
    written = write_spec(graph, name="m")
    verify(graph, written)  # line by line against the graph, or MbcostError
    spec = mbcost.analyze(Network.from_text(written.text), count=ALL_GROUPS, params="all")
    return torch_table, onnx_table, written, spec


def test_hswish_hsigmoid_swish_as_real_code_writes_them():
    torch.manual_seed(0)
    t, o, written, spec = routes(MobileNetV3ish(), (1, 3, 8, 8))
    text = written.text
    assert "hswish" in text and "hsigmoid" in text and "silu" in text and "gate=hsigmoid" in text
    # by hand, every group: conv 3·3·3·8·4·4 + bn 8·16 + hswish 8·16 + dw 9·8·16 + se (pool 8·16, fc 2·8·4,
    # act 4 + 8) + swish 8·16 + hsigmoid 8·16 + pool 8·16 + fc 8·5
    expected = 3456 + 128 + 128 + 1152 + (128 + 64 + 12) + 128 + 128 + 128 + 40
    assert t.total.mult_adds == o.total.mult_adds == spec.total.mult_adds == expected
    assert t.total.params == o.total.params == spec.total.params


def test_ghost_module_and_dense_block_concatenate_their_input():
    torch.manual_seed(0)
    t, o, written, spec = routes(GhostDense(), (1, 3, 4, 4))
    assert "split parts=1 take=1" in written.text
    hw = 16
    stem = 9 * 3 * 8 * hw
    ghost = (8 * 8 + 8 + 8) * hw + (9 * 8 + 8 + 8) * hw  # conv, bn, relu; dw, bn, relu
    dense = sum((c + c + c * 8 + 8 + 8 + 9 * 8 * 4) * hw for c in (16, 20))  # bn, relu, 1x1, bn, relu, 3x3
    assert t.total.mult_adds == o.total.mult_adds == spec.total.mult_adds == stem + ghost + dense
    assert t.total.params == o.total.params == spec.total.params


class ConvClassifier(nn.Module):  # pytorchcv's MobileNetV2 and SqueezeNet end in a 1x1 conv to the classes
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.ReLU(), nn.AvgPool2d(4))
        self.output = nn.Conv2d(16, 10, 1)

    def forward(self, x):
        return self.output(self.features(x)).flatten(1)


def test_a_1x1_conv_classifier_is_the_classifier():
    torch.manual_seed(0)
    t, o, written, spec = routes(ConvClassifier(), (1, 3, 8, 8))
    assert "classes 10" in written.text.splitlines()
    net = Network.from_text(written.text)
    half = mbcost.analyze(net, alpha=0.5)
    assert half.layers[-1].output.c == 10  # --alpha never scales the class count
    assert half.total.mult_adds == 9 * 3 * 8 * 16 + 8 * 10  # conv at 8 channels; the classifier 8 -> 10
    assert mbcost.analyze(net, classes=7).layers[-1].output.c == 7


def test_classes_a_spec_cannot_honour_is_refused():
    from mbcost.errors import MbcostError

    net = Network.from_text("input 8x8x3\nconv 3x3x3x8 pad=1\nconv 1x1x8x4\n")
    with pytest.raises(MbcostError, match="--classes 5: .*has no classifier"):
        mbcost.analyze(net, classes=5)


def test_onnx_says_what_the_exporter_did_with_batch_norms():
    import io

    from mbcost.adapters.onnx_export import batch_norm_note

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 4, 1), nn.BatchNorm2d(4)).eval()
    kept = module_to_onnx(model, (1, 3, 6, 6), "m")
    assert batch_norm_note(model, kept) == "batch norm kept: 2 BatchNormalization nodes, 12 channels, 24 parameters"
    buffer = io.BytesIO()  # torch.onnx.export's own default in eval mode folds them
    torch.onnx.export(model, (torch.zeros(1, 3, 6, 6),), buffer, dynamo=False)
    assert batch_norm_note(model, buffer.getvalue()) == (
        "the exporter folded 2 batch norms into the convolutions before them: the torch model had 12 channels and "
        "24 parameters in them (not in this file)")


class GhostHSigmoid(nn.Module):  # pytorchcv's GhostNet gate: clamp(x, 0, 1)
    def forward(self, x):
        return torch.clamp(x, min=0.0, max=1.0)


class GhostSE(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 1, bias=False)
        self.se = SE(8, 4)
        self.se.sigmoid = GhostHSigmoid()

    def forward(self, x):
        return self.se(self.conv(x))


def test_ghostnets_clamp_gate():
    torch.manual_seed(0)
    t, o, written, spec = routes(GhostSE(), (1, 3, 4, 4))
    assert "gate=clip01" in written.text
    # conv 3·8·16; SE: pool 8·16, 1x1 8->4 and 4->8, relu 4, the gate 8
    assert t.total.mult_adds == o.total.mult_adds == spec.total.mult_adds == 384 + 128 + 32 + 32 + 4 + 8
    assert t.total.params == o.total.params == spec.total.params == 24 + (32 + 4) + (32 + 8)
