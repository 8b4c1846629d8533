"""The documented library API (README "Library"), called as a user calls it."""

from __future__ import annotations

import subprocess
import sys

# Each public function is called twice, after the CLI and the submodules have been
# imported: a submodule named like a function would rebind ``mbcost.<name>`` to the
# module on import, and the second call would fail ("'module' object is not callable").
SCRIPT = """
import mbcost
import mbcost.cli, mbcost.results.comparison, mbcost.results.sweep_grid, mbcost.results.analysis, mbcost.results.separable, mbcost.results.zoo, mbcost.results.pick
for _ in range(2):
    a = mbcost.analyze("mobilenet_v1", alpha=0.5, resolution=160)
    assert (a.total.mult_adds, a.total.params) == (76524800, 1319648), a.total
    c = mbcost.compare(["vgg16", "mobilenet"])
    assert c.entries[1].analysis.total.mult_adds == 568740352
    s = mbcost.sweep("mobilenet_v1", "0.5:1:0.5", "160:224:64")
    r = mbcost.compare_layer(3, 512, 512, 14).ratio
    assert r == mbcost.compare_layer(3, 512, 512, 14).ratio
    net = mbcost.load("mobilenet_v1")
    assert isinstance(net, mbcost.Network)
print("ok")
"""


def test_public_functions_work_twice_after_every_submodule_is_imported():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_no_submodule_shadows_a_public_name():
    import importlib.util

    import mbcost

    for name in mbcost.__all__:
        assert importlib.util.find_spec(f"mbcost.{name}") is None, f"mbcost.{name} is also a submodule"
