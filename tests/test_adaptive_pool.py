"""Adaptive pooling to a fixed size, and fully connected heads at other resolutions.

Expected values are hand-derived from PyTorch's documented window rule (output
cell i pools input [floor(i·n/m), ceil((i+1)·n/m))) and from torchvision's
published parameter counts."""

from __future__ import annotations

import pytest

from mbcost import analyze
from mbcost.errors import SpecError
from mbcost.core.network import Network

SPEC = "input 5x7x4\nconv 3x3x4x6\nadaptive avgpool 3x2\nflatten\nfc 36x10\n"


def test_windows_overlap_when_the_size_does_not_divide():
    a = analyze(Network.from_text(SPEC), count="conv,fc,pool")
    pool = a.layers[1]
    assert (pool.output.h, pool.output.w, pool.output.c) == (3, 2, 6)
    # rows 5 -> 3: [0,2) [1,4) [3,5) = 2+3+2 = 7; columns 7 -> 2: [0,4) [3,7) = 4+4 = 8
    assert pool.mult_adds == 7 * 8 * 6 and pool.formula == "7·8·6"
    assert (pool.type, pool.category, pool.filter) == ("Avg Pool", "Avg Pool", "Adaptive 3 × 2")
    assert a.layers[3].mult_adds == 36 * 10


def test_every_input_read_once_when_the_size_divides_and_free_by_default():
    a = analyze(Network.from_text("input 8x8x3\nadaptive maxpool 4\n"), count="conv,fc,pool")
    assert a.layers[0].mult_adds == 8 * 8 * 3 and a.layers[0].type == "Max Pool"
    assert analyze(Network.from_text("input 8x8x3\nadaptive_maxpool 4\n")).layers[0].mult_adds == 0


def test_the_output_size_holds_at_every_resolution():
    net = Network.from_text(SPEC)
    for res in (5, 9, 64):
        a = analyze(net, resolution=res)
        assert a.layers[1].output.h == 3 and a.layers[3].input.c == 36


@pytest.mark.parametrize("line,message", [
    ("adaptive avgpool", "an adaptive pool needs a shape"),
    ("adaptive avgpool 2x2x2", "takes a shape like"),
    ("adaptive avgpool / s2 2x2", "an adaptive pool has no stride"),
    ("adaptive avgpool 2x2 pad=1", "has no option 'pad'"),
])
def test_bad_adaptive_pools(line, message):
    with pytest.raises(SpecError, match=message):
        Network.from_text(f"input 8x8x3\n{line}\n")


def test_vgg16_is_torchvisions_network_at_any_resolution():
    # torchvision's vgg16: 138,357,544 parameters whatever the input size.
    for res in (160, 224, 320):
        assert analyze("vgg16", resolution=res, params="all").total.params == 138_357_544
    # at 160 the features are 5x5x512; the classifier still reads 7x7x512
    a = analyze("vgg16", resolution=160)
    fc1 = next(r for r in a.layers if r.kind == "fc")
    assert fc1.input.c == 25088 and fc1.mult_adds == 25088 * 4096


def test_a_fixed_fc_head_at_another_resolution_is_refused():
    # The paper's AlexNet flattens 6x6x256 into fc6: at 160 it would read 2,304 values.
    with pytest.raises(SpecError) as info:
        analyze("alexnet", resolution=160)
    err = info.value
    assert "layer fc6" in str(err) and "does not exist" in str(err) and "adaptive avgpool 6x6" in str(err)
    assert err.line is not None
    # at its own resolution, and with a global pool, nothing to refuse
    analyze("alexnet")
    analyze("squeezenet", resolution=160)


def test_the_refusal_is_one_line_and_exit_2(cli):
    res = cli("table", "alexnet", "--res", "160")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "layer fc6" in res.stderr.splitlines()[0]


def test_torch_counters_agree_on_overlapping_windows(tmp_path):
    pytest.importorskip("fvcore")
    from mbcost.attachments.check import check

    path = tmp_path / "ap.spec"
    path.write_text(SPEC, encoding="utf-8")
    result = check([str(path)], alphas=["1"], resolutions=[5, 9], count="conv,fc,pool")
    assert result.ok


def test_check_reports_a_configuration_that_makes_no_network(capsys):
    pytest.importorskip("fvcore")
    import json

    from mbcost.cli import main

    assert main(["check", "alexnet", "squeezenet", "--res", "160", "--format", "json"]) == 0
    nets = json.loads(capsys.readouterr().out)["networks"]
    assert [n["model"] for n in nets] == ["alexnet", "squeezenet"]
    assert "layer fc6" in nets[0]["skipped"] and nets[0]["layers"] == []
    assert nets[1]["skipped"] is None and nets[1]["ok"]
    # nothing left to check: the error itself, exit 2
    assert main(["check", "alexnet", "--res", "160"]) == 2
    assert "layer fc6" in capsys.readouterr().err
