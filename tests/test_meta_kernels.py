"""The fast meta kernels mbcost puts in place while it counts on the meta device
(mbcost.adapters.counters.meta_kernels) against PyTorch's own results on the CPU:
same sizes, dtypes and strides, and sizes that do not fit still fail."""

import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

from mbcost.adapters.counters import meta_kernels  # noqa: E402

F = torch.nn.functional

CASES = [
    ("add", lambda a, b: a + b, (2, 8, 4, 4), (1, 8, 1, 1)),
    ("sub broadcast left", lambda a, b: a - b, (8, 1, 1), (2, 8, 4, 4)),
    ("mul", lambda a, b: a * b, (2, 8, 4, 4), (2, 8, 4, 4)),
    ("mul of an empty batch", lambda a, b: a * b, (0, 8), (1, 8)),
    ("add broadcast both ways", lambda a, b: a + b, (4, 1, 3), (5, 1)),
    ("div scalar", lambda a, b: a / 6, (2, 8, 4, 4), (1,)),
    ("add scalar", lambda a, b: a + 3, (2, 8), (1,)),
    ("in-place add", lambda a, b: a.add_(b), (2, 8, 4, 4), (8, 1, 1)),
    ("sigmoid", lambda a, b: a.sigmoid(), (2, 8, 4, 4), (1,)),
    ("hardswish", lambda a, b: F.hardswish(a), (2, 8, 4, 4), (1,)),
    ("silu in place", lambda a, b: F.silu(a, inplace=True), (2, 8, 4, 4), (1,)),
    ("gelu", lambda a, b: F.gelu(a), (3, 5), (1,)),
    ("softmax", lambda a, b: a.softmax(-1), (2, 3, 5), (1,)),
    ("mean keepdim", lambda a, b: a.mean((2, -1), keepdim=True), (2, 8, 4, 4), (1,)),
    ("mean", lambda a, b: a.mean([1]), (2, 8, 4, 4), (1,)),
    ("mean all", lambda a, b: a.mean([]), (2, 8, 4, 4), (1,)),
    ("layer norm", lambda a, b: F.layer_norm(a, (4, 4)), (2, 8, 4, 4), (1,)),
    ("layer norm affine", lambda a, b: F.layer_norm(a, (5,), b, b), (2, 3, 5), (5,)),
    ("layer norm of a transposed view", lambda a, b: F.layer_norm(a.transpose(1, 2), (3,), b, b), (2, 3, 5), (3,)),
    ("channels last", lambda a, b: a.to(memory_format=torch.channels_last) * b, (2, 8, 4, 4), (8, 1, 1)),
    ("integer division", lambda a, b: a.long() / 2, (2, 3), (1,)),
    ("cat", lambda a, b: torch.cat([a, b, a], 1), (2, 16, 3, 3), (2, 4, 3, 3)),
    ("cat of 1x1 maps", lambda a, b: torch.cat([a, b], 1), (2, 16, 1, 1), (2, 4, 1, 1)),
    ("cat on the last dimension", lambda a, b: torch.cat((a, b), -1), (3, 5), (3, 2)),
    ("cat of a channels-last map", lambda a, b: torch.cat([a.to(memory_format=torch.channels_last), b], 1),
     (2, 8, 4, 4), (2, 8, 4, 4)),
    ("cat of mixed dtypes", lambda a, b: torch.cat([a.double(), b], 0), (2, 3), (1, 3)),
    ("cat of a legacy empty tensor", lambda a, b: torch.cat([a, torch.ones(0, device=a.device)], 0), (2, 3), (1,)),
    ("mixed dtypes", lambda a, b: a.double() + b, (2, 3), (3,)),
]


@pytest.mark.parametrize("name,f,size_a,size_b", CASES, ids=[c[0] for c in CASES])
def test_meta_kernels_agree_with_cpu(name, f, size_a, size_b):
    cpu = f(torch.ones(size_a), torch.ones(size_b))
    with meta_kernels():
        meta = f(torch.empty(size_a, device="meta"), torch.empty(size_b, device="meta"))
    for c, m in zip(cpu if isinstance(cpu, tuple) else (cpu,), meta if isinstance(meta, tuple) else (meta,)):
        assert (m.shape, m.dtype, m.stride()) == (c.shape, c.dtype, c.stride())


WRONG = [
    ("add", lambda a, b: a + b, (2, 8, 4, 4), (2, 7, 4, 4)),
    ("mul", lambda a, b: a * b, (3, 5), (4,)),
    ("add of an empty and a full dimension", lambda a, b: a + b, (0, 8), (2, 8)),
    ("in-place add that would grow", lambda a, b: a.add_(b), (2, 1, 4, 4), (2, 8, 4, 4)),
    ("layer norm", lambda a, b: F.layer_norm(a, (5,)), (2, 8, 4, 4), (1,)),
    ("layer norm weight", lambda a, b: F.layer_norm(a, (4,), b), (2, 4), (3,)),
    ("mean", lambda a, b: a.mean((4,)), (2, 8, 4, 4), (1,)),
    ("cat", lambda a, b: torch.cat([a, b], 1), (2, 8, 4, 4), (2, 8, 4, 3)),
    ("cat on a dimension out of range", lambda a, b: torch.cat([a, b], 2), (2, 3), (2, 3)),
]


@pytest.mark.parametrize("name,f,size_a,size_b", WRONG, ids=[c[0] for c in WRONG])
def test_meta_kernels_refuse_sizes_pytorch_refuses(name, f, size_a, size_b):
    with pytest.raises((RuntimeError, IndexError)):
        f(torch.ones(size_a), torch.ones(size_b))  # the oracle: PyTorch refuses on the CPU
    with meta_kernels(), pytest.raises((RuntimeError, IndexError)):
        f(torch.empty(size_a, device="meta"), torch.empty(size_b, device="meta"))


def test_meta_count_does_not_import_dynamo():
    """PyTorch's own meta kernel of ``add`` imports torch._dynamo (over a second of
    a cold ``mbcost table --torch``); a residual block counted on meta must not."""
    code = ("import sys, torch, mbcost\n"
            "class Res(torch.nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__(); self.conv = torch.nn.Conv2d(4, 4, 3, padding=1)\n"
            "    def forward(self, x):\n"
            "        return torch.sigmoid(x + self.conv(x)) * 2\n"
            "t = mbcost.analyze(Res(), input_size=(1, 4, 8, 8))\n"
            "assert (t.device, t.total.mult_adds) == ('meta', 4 * 4 * 9 * 64), (t.device, t.total)\n"
            "print('torch._dynamo' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_attention_fast_path_on_meta_counts_as_by_hand():
    """nn.MultiheadAttention in eval mode, whose fused fast path meta_kernels now
    lets through on meta as PyTorch does on the CPU, still counts as by hand:
    3·L·E² projections + L²·E for QKᵀ + L²·E for AV + L·E² output (L=5, E=8)."""
    import mbcost

    class Attend(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.mha = torch.nn.MultiheadAttention(8, 2, batch_first=True)

        def forward(self, x):
            return self.mha(x, x, x, need_weights=False)[0]

    hand = 3 * 5 * 8 * 8 + 5 * 5 * 8 + 5 * 5 * 8 + 5 * 8 * 8
    table = mbcost.analyze(Attend(), input_size=(1, 5, 8))
    assert (table.device, table.total.mult_adds, table.not_counted) == ("meta", hand, {})


def test_outside_a_count_pytorchs_own_kernels_answer():
    """The kernels are registered once per process; outside every meta_kernels
    block (nested ones too) each hands its calls to PyTorch's own kernel: PyTorch's
    words for a product whose sizes do not fit, not mbcost's."""
    a, b = torch.empty(2, 3, device="meta"), torch.empty(4, 5, device="meta")
    ours = "mat1 and mat2 shapes cannot be multiplied"
    with meta_kernels():
        with meta_kernels():
            pass
        with pytest.raises(RuntimeError, match=ours):
            torch.mm(a, b)
    for _ in range(2):  # before a count, after one
        with pytest.raises(RuntimeError) as outside:
            torch.mm(a, b)
        assert ours not in str(outside.value) and "[2, 3] X [4, 5]" in str(outside.value)
