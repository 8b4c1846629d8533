"""Hand-written torch models for the export round trip (tests/test_export.py).

Each factory takes ``width``, a width multiplier applied as int(width·c) to
every channel count but the classes, so that the exported spec at ``--alpha a``
can be checked against the model built at ``width=a``. Written from the
architectures' papers, not from mbcost's specs.
"""

from __future__ import annotations

import torch
from torch import nn


def _c(c: int, width: float) -> int:
    return int(c * width)


class Basic(nn.Module):
    """ResNet's basic block; a projection shortcut when the shape changes; one
    ReLU module called twice."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + (x if self.down is None else self.down(x)))


def resnetish(width: float = 1.0, classes: int = 10) -> nn.Module:
    c = [_c(v, width) for v in (32, 64, 128)]
    return nn.Sequential(
        nn.Conv2d(3, c[0], 7, 2, 3, bias=False), nn.BatchNorm2d(c[0]), nn.ReLU(), nn.MaxPool2d(3, 2, 1),
        Basic(c[0], c[0], 1), Basic(c[0], c[1], 2), Basic(c[1], c[2], 2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c[2], classes))


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, t: int) -> None:
        super().__init__()
        hidden = cin * t
        self.use_res = stride == 1 and cin == cout
        self.conv = nn.Sequential(
            nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden),
            nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        return x + self.conv(x) if self.use_res else self.conv(x)


def mobilenetv2ish(width: float = 1.0, classes: int = 10) -> nn.Module:
    c = [_c(v, width) for v in (16, 16, 24, 32)]
    return nn.Sequential(
        nn.Conv2d(3, c[0], 3, 2, 1, bias=False), nn.BatchNorm2d(c[0]), nn.ReLU6(),
        InvertedResidual(c[0], c[1], 1, 1), InvertedResidual(c[1], c[2], 2, 6), InvertedResidual(c[2], c[2], 1, 6),
        InvertedResidual(c[2], c[3], 2, 6), nn.Conv2d(c[3], _c(256, width), 1, bias=False),
        nn.BatchNorm2d(_c(256, width)), nn.ReLU6(), nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Dropout(0.2),
        nn.Linear(_c(256, width), classes))


class SqueezeExcite(nn.Module):
    """MobileNetV3's SE: squeeze to c // 4, ReLU, expand, hard sigmoid gate."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(c, c // 4, 1)
        self.relu = nn.ReLU()
        self.fc2 = nn.Conv2d(c // 4, c, 1)
        self.gate = nn.Hardsigmoid()

    def forward(self, x):
        return x * self.gate(self.fc2(self.relu(self.fc1(self.pool(x)))))


def senet(width: float = 1.0, classes: int = 10) -> nn.Module:
    c = [_c(v, width) for v in (16, 64, 96)]
    return nn.Sequential(
        nn.Conv2d(3, c[0], 3, 2, 1, bias=False), nn.BatchNorm2d(c[0]), nn.Hardswish(),
        nn.Conv2d(c[0], c[1], 1, bias=False), nn.BatchNorm2d(c[1]), nn.Hardswish(),
        nn.Conv2d(c[1], c[1], 5, 2, 2, groups=c[1], bias=False), nn.BatchNorm2d(c[1]), nn.Hardswish(),
        SqueezeExcite(c[1]), nn.Conv2d(c[1], c[2], 1, bias=False), nn.BatchNorm2d(c[2]),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c[2], classes))


class Mixed(nn.Module):
    """Inception-style concatenation of a 1x1, a grouped 3x3 and a dilated 3x3
    branch, and a pooled branch."""

    def __init__(self, cin: int, width: float) -> None:
        super().__init__()
        a, b = _c(32, width), _c(64, width)
        self.b1 = nn.Conv2d(cin, a, 1)
        self.b2 = nn.Sequential(nn.Conv2d(cin, b, 1), nn.ReLU(), nn.Conv2d(b, b, 3, padding=1, groups=4))
        self.b3 = nn.Sequential(nn.Conv2d(cin, a, 3, padding=2, dilation=2), nn.Sigmoid())
        self.b4 = nn.Sequential(nn.AvgPool2d(3, 1, 1), nn.Conv2d(cin, a, 1))

    def forward(self, x):
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1)


def groupnet(width: float = 1.0, classes: int = 10) -> nn.Module:
    c = _c(48, width)
    mixed = Mixed(c, width)
    out = 3 * _c(32, width) + _c(64, width)
    return nn.Sequential(
        nn.Conv2d(3, c, 3, 2, 1), nn.ReLU(), nn.MaxPool2d(2, 2, ceil_mode=True), mixed, nn.ReLU(),
        nn.Conv2d(out, out, 3, 2, 1, groups=8), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(out, classes))


def _shuffle(x, groups: int):
    n, c, h, w = x.shape
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).contiguous().view(n, c, h, w)


class ShuffleUnit(nn.Module):
    """ShuffleNetV2's stride-1 unit: half the channels pass, half go through
    1x1, depthwise 3x3, 1x1; concatenated and shuffled."""

    def __init__(self, c: int) -> None:
        super().__init__()
        b = c // 2
        self.branch2 = nn.Sequential(
            nn.Conv2d(b, b, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU(inplace=True),
            nn.Conv2d(b, b, 3, 1, 1, groups=b, bias=False), nn.BatchNorm2d(b),
            nn.Conv2d(b, b, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU(inplace=True))

    def forward(self, x):
        x1, x2 = x.chunk(2, dim=1)
        return _shuffle(torch.cat((x1, self.branch2(x2)), 1), 2)


def shufflenetish(width: float = 1.0, classes: int = 10) -> nn.Module:
    c = _c(48, width)
    return nn.Sequential(nn.Conv2d(3, c, 3, 2, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(), nn.MaxPool2d(3, 2, 1),
                         ShuffleUnit(c), ShuffleUnit(c), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, classes))


class SelfAttention(nn.Module):
    """Single-head self-attention written out: q, k, v projections, softmax(q·kᵀ/√d)·v."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.q, self.k, self.v = nn.Linear(c, c), nn.Linear(c, c), nn.Linear(c, c)
        self.out = nn.Linear(c, c)
        self.scale = c ** -0.5

    def forward(self, x):
        q, k, v = self.q(x), self.k(x), self.v(x)
        weights = torch.softmax(torch.matmul(q, k.transpose(1, 2)) * self.scale, dim=-1)
        return self.out(torch.matmul(weights, v))


class Attention(nn.Module):
    """A conv stem and one self-attention layer over the positions: counted by
    the torch and ONNX routes; the spec language has no attention.
    (nn.MultiheadAttention's eval fast path, aten::_native_multi_head_attention,
    is counted by neither fvcore nor ONNX export.)"""

    def __init__(self, c: int = 32, classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, c, 4, 4)
        self.attn = SelfAttention(c)
        self.head = nn.Linear(c, classes)

    def forward(self, x):
        x = self.stem(x).flatten(2).transpose(1, 2)
        return self.head(self.attn(x).mean(1))


def attention() -> nn.Module:
    return Attention()


def effnet(name: str = "efficientnet-b0") -> nn.Module:
    """efficientnet_pytorch (a third-party package), with the plain SiLU that
    ONNX export needs (its default swish is a custom autograd function)."""
    from efficientnet_pytorch import EfficientNet

    model = EfficientNet.from_name(name)
    model.set_swish(memory_efficient=False)
    return model
