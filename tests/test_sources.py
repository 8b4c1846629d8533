"""The registry of input formats (mbcost/sources): each source recognises its
argument, declares its settings, and the refusal of the others comes from that
declaration. Cheap: no torch, no onnx is imported here."""

from __future__ import annotations

import pytest

import mbcost
from mbcost.errors import MbcostError
from mbcost.sources import SOURCES, Source, accepted, open_table, recognise, source_of
from mbcost.sources.registry import register


class Module:  # stands for torch.nn.Module: the torch source recognises it by its class, torch not imported
    pass


Module.__module__ = "torch.nn.modules.module"


class Net(Module):
    pass


@pytest.mark.parametrize("arg, name", [
    ("mobilenet_v1", "spec"), ("tables/vgg16.spec", "spec"), ("model.onnx", "onnx"), ("dir/M.ONNX", "onnx"),
    (Net(), "torch"), (None, "spec"),
])
def test_each_argument_goes_to_its_source(arg, name):
    assert recognise(arg).name == name


def test_a_network_object_is_a_spec():
    net = mbcost.load("mobilenet_v1")
    assert recognise(net).name == "spec"
    # the spec source's table of the Network is the symbolic table: MobileNet 1.0-224, 569 M (the paper)
    assert open_table(net).total.mult_adds == 568_740_352


def test_the_refusal_names_the_settings_given_and_who_accepts_them():
    with pytest.raises(MbcostError) as err:
        accepted(SOURCES["onnx"], {"alpha": 0.5, "resolution": 160, "rho": None, "input_size": None}, flags=True)
    assert str(err.value).startswith("--alpha, --res apply to specs only; an ONNX model is fixed")
    with pytest.raises(MbcostError, match=r"^input_size applies to torch models and ONNX files only; a spec's"):
        accepted(SOURCES["spec"], {"alpha": 1, "input_size": (1, 3, 8, 8)})
    # a setting at its default is not 'given': --alpha 1.0 and --depth-mult 1 are what a torch model has
    assert accepted(SOURCES["torch"], {"alpha": 1.0, "depth_mult": 1, "input_size": "1x3x8x8"}) == \
        {"input_size": "1x3x8x8"}


def test_a_model_and_a_torch_factory_together_are_refused():
    with pytest.raises(MbcostError, match="not both"):
        source_of("vgg16", "pkg.mod:factory")
    assert source_of(None, "pkg.mod:factory")[0].name == "torch"


def test_a_new_source_is_one_registration(monkeypatch):
    """A throwaway format ('.counts' files: one layer's Mult-Adds a line) registered
    as an input format is recognised, takes its settings, and its refusals name it."""
    monkeypatch.setattr("mbcost.sources.registry.SOURCES", dict(SOURCES))
    made = []

    def table(arg, *, count, params, input_size=None):
        made.append((arg, input_size))
        return "a table"

    register(Source(name="counts", what="count files", label="counts", recognises=lambda a: str(a).endswith(".counts"),
                    settings=("input_size",), table=table, order=30))
    assert mbcost.analyze("x.counts", input_size=(1, 3, 8, 8)) == "a table"
    assert made == [("x.counts", (1, 3, 8, 8))]
    with pytest.raises(MbcostError, match="^input_size applies to torch models, ONNX files and count files only"):
        mbcost.analyze("mobilenet_v1", input_size=(1, 3, 8, 8))
    with pytest.raises(ValueError, match="registered twice"):
        register(Source(name="counts", what="", label="", recognises=bool, settings=(), table=table))


def test_a_new_optional_column_is_one_attachment_and_one_declaration(monkeypatch):
    """A throwaway attachment (each row's output channels, doubled) declared once is
    a column after the %, a field of the tidy records, and nothing else changes."""
    from mbcost.documents import views
    from mbcost.documents.views import ATTACHMENT_VIEWS, AttachmentView, LayerColumn, cost_document

    doubled = AttachmentView("doubled", lambda att: [
        LayerColumn("2·C out", "doubled_channels", lambda att, i, r: att[i], priority=4, min_width=7)])
    monkeypatch.setattr(views, "ATTACHMENT_VIEWS", ATTACHMENT_VIEWS + (doubled,))
    table = mbcost.analyze("mobilenet_v1", alpha=0.25, resolution=128)
    plain = cost_document(table)
    doc = cost_document(table, doubled=[2 * r.output.c for r in table.layers])
    per_layer, before = doc.tables[0], plain.tables[0]
    assert [c.header for c in per_layer.columns] == [c.header for c in before.columns] + ["2·C out"]
    assert per_layer.columns[-1].priority == 4 and per_layer.columns[-1].min_width == 7
    assert [row[-1] for row in per_layer.rows][:2] == [2 * 8, 2 * 8]  # conv1 and dw1: int(0.25·32) = 8 channels
    assert [row[:-1] for row in per_layer.rows] == before.rows
    assert per_layer.records()[0]["doubled_channels"] == 16
    assert "doubled_channels" not in before.records()[0]
    with pytest.raises(TypeError, match="no view declared"):
        cost_document(table, undeclared=1)
