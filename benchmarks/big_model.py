"""A 1.1-billion-parameter convolution stack for benchmarks/own_model_big.py:
a 3x3 conv 3 -> 4200, seven 3x3 convs 4200 -> 4200 (9·4200² = 158.76 M weights
each), global average pool, FC to 1000. 1,111,401,600 + 113,400 + 4,201,000
parameters (with biases): about 4.5 GB as fp32 if allocated."""

from torch import nn

WIDTH = 4200


def build(width: int = WIDTH, depth: int = 7):
    layers = [nn.Conv2d(3, width, 3, padding=1), nn.ReLU()]
    for _ in range(depth):
        layers += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU()]
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, 1000)]
    return nn.Sequential(*layers)
