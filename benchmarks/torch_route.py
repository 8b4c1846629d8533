"""The --torch route's speed against fvcore's own count (issue 21).

In one process, on the same CPU-built models at the same input, alternately:
``mbcost.analyze(module, input_size=...)`` (rows, labels, parameters, the
operator table's handles) and ``fvcore.nn.FlopCountAnalysis(module, x).total()``
(fvcore's default handles, total only). Best of ``--repeat`` runs each, taken alternately; the ratio
is mbcost / fvcore (at most 1 is the target). Then the cold start: ``mbcost
table --torch`` of a MobileNetV2 in a fresh process against ``python -c "import
torch"``, best of ``--repeat``.

    python benchmarks/torch_route.py [--repeat 5]

Models: efficientnet_pytorch's EfficientNet-B0 and pytorchcv's MobileNetV2,
MobileNetV3-small, GhostNet and DenseNet-121 where installed (224 x 224), and a
small hybrid conv-attention model written here.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import warnings


def hybrid():
    import torch
    from torch import nn

    class Hybrid(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, 64, 16, stride=16)
            self.norm = nn.LayerNorm(64)
            self.mha = nn.MultiheadAttention(64, 4, batch_first=True)
            self.mlp = nn.Sequential(nn.Linear(64, 128), nn.GELU(), nn.Linear(128, 64))

        def forward(self, x):
            t = self.norm(self.stem(x).flatten(2).transpose(1, 2))
            t = t + self.mha(t, t, t, need_weights=False)[0]
            return (t + self.mlp(t)).mean(1)

    return Hybrid()


def models() -> list:
    out = [("hybrid (stem + MHA + MLP)", hybrid)]
    try:
        from efficientnet_pytorch import EfficientNet

        out.append(("efficientnet_pytorch b0", lambda: EfficientNet.from_name("efficientnet-b0")))
    except ImportError:
        pass
    try:
        from pytorchcv.models.densenet import densenet121
        from pytorchcv.models.ghostnet import ghostnet
        from pytorchcv.models.mobilenetv2 import mobilenetv2_w1
        from pytorchcv.models.mobilenetv3 import mobilenetv3_small_w1

        out += [("pytorchcv mobilenetv2_w1", mobilenetv2_w1), ("pytorchcv mobilenetv3_small_w1", mobilenetv3_small_w1),
                ("pytorchcv ghostnet", ghostnet), ("pytorchcv densenet121", densenet121)]
    except ImportError:
        pass
    return out


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def in_process(repeat: int) -> None:
    import torch
    from fvcore.nn import FlopCountAnalysis

    import mbcost

    print("| model | mbcost.analyze (s) | fvcore FlopCountAnalysis.total() (s) | ratio |")
    print("|---|---|---|---|")
    ratios = []
    for name, factory in models():
        model = factory().eval()
        x = torch.zeros(1, 3, 224, 224)
        mbcost.analyze(model, input_size=(1, 3, 224, 224))  # warm both (imports, probes)

        def fv():
            a = FlopCountAnalysis(model, (x,))
            a.unsupported_ops_warnings(False)
            a.uncalled_modules_warnings(False)
            a.tracer_warnings("none")
            with torch.no_grad():
                return a.total()

        fv()
        ours = theirs = float("inf")
        for _ in range(repeat):  # alternately, so that a busy moment of a shared machine hits both
            ours = min(ours, best(lambda: mbcost.analyze(model, input_size=(1, 3, 224, 224)), 1))
            theirs = min(theirs, best(fv, 1))
        ratios.append(ours / theirs)
        print(f"| {name} | {ours:.3f} | {theirs:.3f} | {ours / theirs:.2f} |")
    print(f"\nworst ratio {max(ratios):.2f}, median {sorted(ratios)[len(ratios) // 2]:.2f}")


def cold(repeat: int) -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        import pytorchcv  # noqa: F401
    except ImportError:  # the same architecture, written as pytorchcv writes it (tests/data)
        target, what = os.path.join(here, "..", "tests", "data", "pytorchcv_mobilenetv2.py:mobilenetv2"), \
            "tests/data's pytorchcv-style mobilenetv2"
        factory = None
    else:
        factory = os.path.join(here, "_mobilenetv2_factory.py")
        with open(factory, "w") as f:
            f.write("from pytorchcv.models.mobilenetv2 import mobilenetv2_w1\n")
        target, what = f"{factory}:mobilenetv2_w1", "pytorchcv mobilenetv2_w1"
    try:
        env = dict(os.environ, PYTHONWARNINGS="ignore")
        torch_s = best(lambda: subprocess.run([sys.executable, "-c", "import torch"], check=True, env=env), repeat)
        table_s = best(lambda: subprocess.run(
            [sys.executable, "-m", "mbcost", "table", "--torch", target, "-f", "json"],
            check=True, env=env, stdout=subprocess.DEVNULL), repeat)
    finally:
        if factory is not None:
            os.remove(factory)
    print(f"\ncold: python -c 'import torch' {torch_s:.2f} s; mbcost table --torch {what} "
          f"{table_s:.2f} s; difference {table_s - torch_s:.2f} s (target <= 1.5 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-cold", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} on "
          f"{os.cpu_count()} CPUs (a shared machine)\n")
    in_process(args.repeat)
    if not args.skip_cold:
        cold(args.repeat)


if __name__ == "__main__":
    main()
