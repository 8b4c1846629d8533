"""A MobileNetV2 written as a third-party library writes it (after pytorchcv's
mobilenetv2.py: ConvBlock units of conv, batch norm and activation; stages of
LinearBottleneck units; the classifier a 1×1 convolution), for tests of how
``table --torch`` shows a real model: 17 bottlenecks, 159 leaf modules."""

from torch import nn


class ConvBlock(nn.Module):
    def __init__(self, cin, cout, kernel, stride=1, groups=1, activate=True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.activ = nn.ReLU6(inplace=True) if activate else nn.Identity()

    def forward(self, x):
        return self.activ(self.bn(self.conv(x)))


class LinearBottleneck(nn.Module):
    def __init__(self, cin, cout, stride, expansion):
        super().__init__()
        self.residual = cin == cout and stride == 1
        mid = cin * 6 if expansion else cin
        self.conv1 = ConvBlock(cin, mid, 1)
        self.conv2 = ConvBlock(mid, mid, 3, stride, groups=mid)
        self.conv3 = ConvBlock(mid, cout, 1, activate=False)

    def forward(self, x):
        y = self.conv3(self.conv2(self.conv1(x)))
        return y + x if self.residual else y


class MobileNetV2(nn.Module):
    def __init__(self, width=1.0, classes=1000):
        super().__init__()
        stages = [[16], [24, 24], [32, 32, 32], [64, 64, 64, 64, 96, 96, 96], [160, 160, 160, 320]]
        c = int(32 * width)
        self.features = nn.Sequential()
        self.features.add_module("init_block", ConvBlock(3, c, 3, 2))
        for i, stage in enumerate(stages):
            units = nn.Sequential()
            for j, cout in enumerate(stage):
                cout = int(cout * width)
                stride = 2 if j == 0 and i != 0 else 1
                units.add_module(f"unit{j + 1}", LinearBottleneck(c, cout, stride, expansion=i != 0 or j != 0))
                c = cout
            self.features.add_module(f"stage{i + 1}", units)
        self.features.add_module("final_block", ConvBlock(c, 1280, 1))
        self.features.add_module("final_pool", nn.AdaptiveAvgPool2d(1))
        self.output = nn.Conv2d(1280, classes, 1, bias=False)

    def forward(self, x):
        return self.output(self.features(x)).flatten(1)


def mobilenetv2(width=1.0, classes=1000):
    return MobileNetV2(width, classes)
