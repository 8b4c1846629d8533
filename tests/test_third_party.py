"""A real third-party model (efficientnet_pytorch, which depends only on torch):
its own EfficientNet implementation, counted through --torch and the API,
against the zoo's efficientnet_b0..b3 (written from the paper and torchvision):
two implementations that share no code agree to the integer."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")
pytest.importorskip("fvcore")
efficientnet_pytorch = pytest.importorskip("efficientnet_pytorch")

import mbcost  # noqa: E402


def test_efficientnet_pytorch_b0_through_torch_equals_the_zoo_spec(cli_here):
    res = cli_here("table", "--torch", "efficientnet_pytorch:EfficientNet.from_name('efficientnet-b0')", "-f", "json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    spec = mbcost.analyze("efficientnet_b0", params="all")
    assert data["total"]["mult_adds"] == spec.total.mult_adds == 385_814_752
    assert data["total"]["params"] == spec.total.params == 5_288_548  # torchvision's published count too
    # its convs with TF-style 'same' padding (a Conv2d subclass with a padding child) are still convs
    types = {t["type"] for t in data["by_type"]}
    assert {"Conv 1×1", "Conv DW 3×3", "Conv DW 5×5", "Conv 3×3", "Fully Connected"} <= types


@pytest.mark.parametrize("name,resolution", [("b1", 240), ("b2", 260), ("b3", 300)])
def test_efficientnet_pytorch_scaled_models_equal_the_presets(name, resolution):
    from efficientnet_pytorch import EfficientNet

    theirs = mbcost.analyze(EfficientNet.from_name(f"efficientnet-{name}"), input_size=(1, 3, resolution, resolution))
    ours = mbcost.analyze(f"efficientnet_{name}", params="all")
    assert (theirs.total.mult_adds, theirs.total.params) == (ours.total.mult_adds, ours.total.params)
