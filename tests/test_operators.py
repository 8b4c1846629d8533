"""The operator table (issue 21): one entry per operator, its rule counted the
same by fvcore's handles (meta device and CPU) and the ONNX handles; the models
of the issue's table of wrong numbers, each expected count derived by hand here."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")
from torch import nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import mbcost  # noqa: E402
from mbcost.adapters import operators  # noqa: E402

DOC = Path(__file__).resolve().parent.parent / "docs" / "spec-format.md"


def test_the_docs_operator_list_is_the_tables():
    text = DOC.read_text(encoding="utf-8")
    match = re.search(r"<!-- operators-table:[^\n]*-->\n(.*?)\n<!-- /operators-table -->", text, re.S)
    assert match, "docs/spec-format.md has no operators-table block"
    assert match.group(1) == operators.operators_table(), \
        "regenerate: python -m mbcost.adapters.operators docs/spec-format.md"


def test_every_rule_has_its_handle_on_each_route():
    from mbcost.adapters import counters, onnx_count

    for op in operators.of_route("aten"):
        assert callable(counters.aten_handle(op)), op
    for op in operators.of_route("onnx"):
        assert op.rule == "none" or op.name in onnx_count.HANDLES, op
    assert set(operators.GROUP_FLAG) >= {op.group for op in operators.TABLE.values()}
    assert {op.rule for op in operators.TABLE.values()} <= set(operators.RULES)


def test_the_opset_is_set_once():
    from mbcost.adapters import onnx_export

    assert onnx_export.OPSET is operators.OPSET
    root = Path(__file__).resolve().parent.parent / "mbcost"
    hits = [p for p in root.rglob("*.py") if re.search(r"opset(_version)?\s*=\s*\d|make_opsetid\(\"\", \d", p.read_text())]
    assert hits == [root / "adapters" / "operators.py"] or hits == [], hits


def test_einsum_is_exact():
    from mbcost.adapters.counters import einsum_mult_adds

    assert einsum_mult_adds("bij,bjk->bik", [[1, 49, 64], [1, 64, 30]]) == 49 * 64 * 30 == 94_080
    assert einsum_mult_adds("...ij,...jk", [[2, 3, 4, 5], [5, 6]]) == 2 * 3 * 4 * 5 * 6
    assert einsum_mult_adds("ij->ji", [[3, 4]]) == 0


# -- the issue's table, each model small; expected values derived by hand --------------------------------------

class Same(nn.Module):
    """padding="same" with an odd, an even and a dilated kernel (aten::_convolution_mode)."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding="same")
        self.c2 = nn.Conv2d(8, 8, 4, padding="same")
        self.c3 = nn.Conv2d(8, 4, 3, padding="same", dilation=2)
        self.fc = nn.Linear(4 * 8 * 8, 10)

    def forward(self, x):
        return self.fc(self.c3(self.c2(self.c1(x))).flatten(1))


SAME = 3 * 3 * 3 * 8 * 64 + 4 * 4 * 8 * 8 * 64 + 3 * 3 * 8 * 4 * 64 + 256 * 10


class Attention(nn.Module):
    def __init__(self, batch_first=True, need_weights=False):
        super().__init__()
        self.mha = nn.MultiheadAttention(16, 2, batch_first=batch_first)
        self.need_weights = need_weights

    def forward(self, x):
        return self.mha(x, x, x, need_weights=self.need_weights)[0]


L, E = 7, 16
MHA = 3 * L * E * E + L * L * E + L * L * E + L * E * E  # 8,736


class FastPath(nn.Module):
    """MultiheadAttention's eval fast path, called as PyTorch calls it."""

    def __init__(self):
        super().__init__()
        self.mha = nn.MultiheadAttention(16, 2, batch_first=True)

    def forward(self, x):
        m = self.mha
        return torch._native_multi_head_attention(x, x, x, 16, 2, m.in_proj_weight, m.in_proj_bias,
                                                  m.out_proj.weight, m.out_proj.bias, None, False)[0]


class Products(nn.Module):
    """matmul, bmm, einsum and scaled_dot_product_attention of computed tensors."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 16)

    def forward(self, x):  # x: 1 x 7 x 16
        t = self.fc(x)
        a = t @ t.transpose(1, 2)  # 7·7·16
        b = torch.bmm(a, t)  # 7·7·16
        c = torch.einsum("bij,bjk->bik", b, torch.ones(1, 16, 5, device=x.device))  # 7·16·5
        q = t.view(1, 7, 2, 8).transpose(1, 2)
        d = F.scaled_dot_product_attention(q, q, q)  # 2·(7·7·8 + 7·7·8)
        return c.sum() + d.sum()


PRODUCTS = 7 * 16 * 16 + 7 * 7 * 16 + 7 * 7 * 16 + 7 * 16 * 5 + 2 * (7 * 7 * 8 + 7 * 7 * 8)


class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(16, 16, bias=False)
        self.b = nn.Linear(16, 16, bias=False)
        self.b.weight = self.a.weight

    def forward(self, x):
        return self.b(self.a(x))


class Recurrent(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(16, 8, batch_first=True)
        self.gru = nn.GRU(8, 4, batch_first=True)

    def forward(self, x):
        return self.gru(self.lstm(x)[0])[0]


RECURRENT = 7 * 4 * (16 * 8 + 8 * 8) + 7 * 3 * (8 * 4 + 4 * 4)


class Upsample(nn.Module):
    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(3, 4, 1)

    def forward(self, x):
        return F.interpolate(self.c(x), scale_factor=2, mode="bilinear", align_corners=False)


CASES = [  # (model, input, Mult-Adds with --count conv,fc, parameters)
    (Same, (1, 3, 8, 8), SAME, (27 * 8 + 8) + (128 * 8 + 8) + (72 * 4 + 4) + (2560 + 10)),
    (Attention, (1, L, E), MHA, 4 * E * E + 4 * E),
    (lambda: Attention(need_weights=True), (1, L, E), MHA, 4 * E * E + 4 * E),
    (lambda: Attention(batch_first=False), (L, 1, E), MHA, 4 * E * E + 4 * E),
    (FastPath, (1, L, E), MHA, 4 * E * E + 4 * E),
    (Products, (1, 7, 16), PRODUCTS, 16 * 16 + 16),
    (Tied, (1, 16), 2 * 16 * 16, 16 * 16),
    (Recurrent, (1, 7, 16), RECURRENT, 4 * (16 * 8 + 8 * 8 + 16) + 3 * (8 * 4 + 4 * 4 + 8)),
    (Upsample, (1, 3, 4, 4), 3 * 4 * 16, 16),
]


@pytest.mark.parametrize("device", ["meta", "cpu"])
@pytest.mark.parametrize("factory, shape, mult_adds, params", CASES)
def test_the_issues_table_through_the_torch_route(factory, shape, mult_adds, params, device):
    with torch.device(device):
        model = factory().eval()
    a = mbcost.analyze(model, input_size=shape)
    assert a.total.mult_adds == mult_adds
    assert a.total.params == params
    assert a.complete and not a.not_counted


def test_upsampling_is_named_and_counted_as_pooling():
    a = mbcost.analyze(Upsample(), input_size=(1, 3, 4, 4))
    assert a.counted_as_nothing == {"aten::upsample_bilinear2d": 1}
    pooled = mbcost.analyze(Upsample(), input_size=(1, 3, 4, 4), count=("conv", "fc", "pool"))
    assert pooled.total.mult_adds == 3 * 4 * 16 + 4 * (4 * 8 * 8)  # bilinear: 4 taps per output element
    assert not pooled.counted_as_nothing


def test_tied_weights_are_counted_once_and_say_so():
    a = mbcost.analyze(Tied(), input_size=(1, 16))
    assert [r.params for r in a.layers] == [256, 0] and a.uncalled_params == 0
    assert a.shared == {"b": (256, "a")}
    assert a.to_dict()["shared_params"] == {"b": {"params": 256, "shared_with": "a"}}


class TiedTwice(nn.Module):  # one module called twice: torch.onnx.export writes its weight as two values
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(16, 16, bias=False)

    def forward(self, x):
        return self.a(self.a(x))


class TiedBiased(nn.Module):  # a tied weight, two biases of their own
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(16, 16)
        self.b = nn.Linear(16, 16)
        self.b.weight = self.a.weight

    def forward(self, x):
        return self.b(self.a(x))


def _exported(model, shape) -> bytes:
    from mbcost.adapters.onnx_export import module_to_onnx

    torch.manual_seed(0)
    return module_to_onnx(model.eval(), shape, "test")


def _onnx_table(data: bytes):
    from mbcost.adapters.onnx_count import analyze_graph
    from mbcost.adapters.onnx_model import read_graph

    return analyze_graph(read_graph("test", data=data))


def test_tied_weights_through_onnx_are_counted_once_and_say_so(tmp_path, capsys):
    weight = 16 * 16  # by hand: one 16x16 tensor, whichever modules read it
    a = _onnx_table(_exported(Tied(), (1, 16)))  # the exporter writes it as an initializer and an Identity of it
    assert [r.params for r in a.layers] == [weight, 0] and a.total.params == weight
    assert a.shared == {"b": (weight, "a")}
    assert a.to_dict()["shared_params"] == {"b": {"params": weight, "shared_with": "a"}}
    assert _onnx_table(_exported(TiedTwice(), (1, 16))).total.params == weight
    biased = _onnx_table(_exported(TiedBiased(), (1, 3, 16)))
    assert biased.total.params == weight + 16 + 16 and biased.shared == {"b": (weight, "a")}

    path = tmp_path / "tied.onnx"
    path.write_bytes(_exported(Tied(), (1, 16)))
    from mbcost.cli import main

    assert main(["table", str(path)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "b: 256 parameters shared with a (counted once, under a)" in out
    assert "shared parameters once (the file, written by mbcost, names its initializers that are one torch" in out
    from mbcost.errors import MbcostError
    from mbcost.graphs.export import export_spec

    model = tmp_path / "tied_conv.py"
    model.write_text("from torch import nn\n\n\nclass TiedConv(nn.Module):\n    def __init__(self):\n"
                     "        super().__init__()\n        self.a = nn.Conv2d(3, 3, 1)\n        self.b = nn.Conv2d(3, 3, 1)\n"
                     "        self.b.weight = self.a.weight\n\n    def forward(self, x):\n        return self.b(self.a(x))\n")
    with pytest.raises(MbcostError, match="module 'b' shares 9 parameters with 'a' .tied weights.*nothing written"):
        export_spec(torch_target=f"{model}:TiedConv", input_shape=(1, 3, 4, 4))


def _retagged(data: bytes, value: str | None) -> bytes:
    """``data`` with its tied-parameters metadata replaced by ``value`` (None: removed, a file from elsewhere)."""
    import onnx

    from mbcost.adapters.onnx_model import TIED_KEY

    proto = onnx.load_model_from_string(data)
    kept = [(p.key, p.value) for p in proto.metadata_props if p.key != TIED_KEY]
    del proto.metadata_props[:]
    for key, text in kept + ([] if value is None else [(TIED_KEY, value)]):
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, text
    return proto.SerializeToString()


def test_onnx_metadata_on_tied_weights_is_checked_and_a_file_from_elsewhere_counts_each_initializer(tmp_path,
                                                                                                    capsys):
    from mbcost.adapters.onnx_model import MAX_TIED_CHARS, TIED_KEY

    data = _exported(TiedBiased(), (1, 3, 16))
    import onnx

    meta = {p.key: p.value for p in onnx.load_model_from_string(data).metadata_props}
    (first, second), = json.loads(meta[TIED_KEY])["groups"]
    each = 2 * 16 * 16 + 16 + 16  # by hand: every initializer (the weight's two values, two biases)
    foreign = _onnx_table(_retagged(data, None))
    assert foreign.total.params == each and not foreign.shared and not foreign.graph.notes
    assert foreign.shared_rule.startswith("each initializer of the file a parameter")
    tampered = ["not json", "[" * 100_000, "{}", '{"groups": 3, "unmatched": 0}',
                json.dumps({"groups": [[first]], "unmatched": 0}),
                json.dumps({"groups": [[first, "no such value"]], "unmatched": 0}),
                json.dumps({"groups": [[first, second], [second, "a.bias"]], "unmatched": 0}),
                json.dumps({"groups": [[first, "a.bias"]], "unmatched": 0}),  # 256 and 16 elements: not one tensor
                json.dumps({"groups": [[first, second]], "unmatched": -1}),
                json.dumps({"groups": [[first, second]], "unmatched": 0, "x": "y" * MAX_TIED_CHARS})]
    for value in tampered:
        a = _onnx_table(_retagged(data, value))
        assert a.total.params == each and not a.shared, value[:40]
        assert len(a.graph.notes) == 1 and "metadata (which parameter values are one tensor) is malformed" \
            in a.graph.notes[0], value[:40]
    path = tmp_path / "tampered.onnx"
    path.write_bytes(_retagged(data, "[" * 100_000))
    from mbcost.cli import main

    assert main(["table", str(path)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "is malformed (not JSON): ignored, each initializer counted" in out and "Traceback" not in out
    assert "each initializer of the file a parameter (the file does not say" in out


class Unknown(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return self.fc(x).cumprod(1)


def test_an_operator_not_in_the_table_is_named_with_calls_and_rows(tmp_path, capsys):
    a = mbcost.analyze(Unknown(), input_size=(1, 4))
    assert a.total.mult_adds == 16 and not a.complete
    assert a.not_counted == {"aten::cumprod": {"calls": 1, "rows": ["(model)"]}}
    assert a.to_dict()["total_complete"] is False
    row = next(r for r in a.layers if r.name == "(model)")
    assert "not counted: aten::cumprod" in row.type
    model = tmp_path / "unknown_model.py"
    model.write_text("import torch\nfrom torch import nn\n\n\nclass Unknown(nn.Module):\n"
                     "    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(4, 4)\n\n"
                     "    def forward(self, x):\n        return self.fc(x).cumprod(1)\n")
    from mbcost.cli import main

    assert main(["table", "--torch", f"{model}:Unknown", "--input", "1x4", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["not_counted"] == {"aten::cumprod": {"calls": 1, "rows": ["(model)"]}}
    assert data["total_complete"] is False
    assert main(["table", "--torch", f"{model}:Unknown", "--input", "1x4"]) == 0
    assert "TOTAL INCOMPLETE" in capsys.readouterr().out


@pytest.mark.parametrize("factory, shape, mult_adds", [
    (Same, (1, 3, 8, 8), SAME),
    (Attention, (1, L, E), MHA),
    (lambda: Attention(need_weights=True), (1, L, E), MHA),
    (Products, (1, 7, 16), PRODUCTS),
    (Recurrent, (1, 7, 16), RECURRENT),
    (Upsample, (1, 3, 4, 4), 3 * 4 * 16 + 4 * (4 * 8 * 8)),
])
def test_the_issues_table_through_onnx(tmp_path, factory, shape, mult_adds):
    from mbcost.adapters.onnx_export import module_to_onnx

    torch.manual_seed(0)
    path = tmp_path / "m.onnx"
    path.write_bytes(module_to_onnx(factory().eval(), shape, "test"))
    count = ("conv", "fc", "pool") if factory is Upsample else ("conv", "fc")
    a = mbcost.analyze(str(path), count=count)
    assert a.total.mult_adds == mult_adds
    assert a.complete


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_a_wrong_size_still_fails_on_the_meta_device(device):
    from mbcost.errors import MbcostError

    with torch.device(device):
        conv = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(4, 2))
    with pytest.raises(MbcostError, match="expected input.*to have 3 channels, but got 4"):
        mbcost.analyze(conv, input_size=(1, 4, 8, 8))
    with pytest.raises(MbcostError, match="Output size is too small|Kernel size can.t be greater"):
        mbcost.analyze(conv, input_size=(1, 3, 2, 2))
    with pytest.raises(MbcostError, match="cannot be multiplied"):
        mbcost.analyze(conv, input_size=(1, 3, 4, 4))


class _DropConnect(nn.Module):
    """A block that draws random numbers in training mode only (efficientnet_pytorch's drop-connect)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 8, 3, padding=1)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        y = self.conv(x)
        if self.training:
            y = y * (torch.rand(y.shape[0], 1, 1, 1) > 0.2)
        return self.drop(y)


def test_a_model_in_training_mode_is_counted_as_at_inference_and_its_modes_restored():
    model = _DropConnect()
    model.drop.eval()  # a submodule with its own mode: restored as it was
    table = mbcost.analyze(model, input_size=(1, 4, 6, 6))
    assert table.total.mult_adds == 3 * 3 * 4 * 8 * 6 * 6  # by hand: the conv alone
    assert table.complete and not table.not_counted
    assert model.training and model.conv.training and not model.drop.training


def test_random_numbers_are_free():
    for name in ("aten::rand", "aten::randn", "aten::bernoulli_"):
        assert operators.lookup("aten", name).group == "free", name
