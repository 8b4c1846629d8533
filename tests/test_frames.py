"""Every result as a DataFrame, in a notebook and as a short repr (issue 11)."""

from __future__ import annotations

import pytest

import mbcost
from mbcost.results.paper import paper_tables
from mbcost.results.pick import pick

pd = pytest.importorskip("pandas")


def numeric(frame, columns):
    return all(pd.api.types.is_numeric_dtype(frame[c]) for c in columns)


def test_analysis_frame_splits_shapes_into_ints_and_keeps_the_totals():
    a = mbcost.analyze("mobilenet_v1", alpha=0.5, resolution=160)
    f = a.to_frame()
    assert numeric(f, ["stride_h", "in_h", "in_w", "in_c", "out_h", "out_w", "out_c", "mult_adds", "params",
                       "weights", "biases", "norm", "activations", "mult_adds_pct"])
    assert int(f.mult_adds.sum()) == a.total.mult_adds == 76_524_800
    assert (f.loc[0, "in_h"], f.loc[0, "out_h"], f.loc[0, "out_c"]) == (160, 80, 16)  # conv1 / s2, int(0.5 x 32)
    assert len(set(f.columns)) == len(f.columns)


def test_every_result_frames_itself():
    a = mbcost.analyze("mobilenet_v1")
    by_type = a.by_type().to_frame()
    assert list(by_type.type)[:2] == ["Conv 1×1", "Conv DW 3×3"] and int(by_type.mult_adds.sum()) == 568_740_352
    cmp = mbcost.compare(["vgg16", "mobilenet"]).to_frame()
    assert numeric(cmp, ["mult_adds", "params", "mult_adds_ratio", "top1_published"])
    assert cmp.loc[1, "mult_adds_ratio"] == pytest.approx(568_740_352 / 15_470_264_320)
    sweep = mbcost.sweep("mobilenet_v1", "1,0.5", "224,160").to_frame()
    assert numeric(sweep, ["alpha", "resolution", "mult_adds", "params"]) and len(sweep) == 4
    picked = pick(150_000_000).to_frame()
    assert numeric(picked, ["rank", "alpha", "resolution", "mult_adds"]) and (picked.mult_adds <= 150_000_000).all()
    table6 = paper_tables(6)[0].to_frame()  # long: one row per published figure
    assert numeric(table6, ["published", "computed", "delta", "top1_published"])
    row = table6[(table6.row == "1.0 MobileNet-160") & (table6.quantity == "mult_adds_millions")].iloc[0]
    assert row.published == 290 and row.computed == pytest.approx(290_675_200 / 1e6)  # printed 290, 290.68 computed
    assert row.check != "ok" and row.delta == pytest.approx(0.6752)
    assert len(set(table6.columns)) == len(table6.columns)


def test_reprs_are_short_and_notebooks_get_a_table():
    a = mbcost.analyze("mobilenet_v1")
    # rows: conv1, 13 x (dw, pw), the average pool, the FC and the softmax = 30
    assert repr(a) == "<mobilenet_v1 · alpha 1 · input 224×224×3: 30 rows; .to_frame() for all>"
    html = a._repr_html_()
    assert html.startswith("<table>") and "<td>conv1</td>" in html and "10,838,016" in html
    assert repr(mbcost.compare(["vgg16", "mobilenet"])).startswith("<Comparison of vgg16, mobilenet_v1: 2 rows")
