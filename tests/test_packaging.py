"""A regular (non-editable) install finds its specs from any directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT, mobilenet_oracle


def test_wheel_install_ships_specs_and_published_data(tmp_path):
    pytest.importorskip("hatchling")  # in the test extras: builds the wheel without the network
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--target", str(site), str(ROOT)], check=True, capture_output=True, timeout=300)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    script = (
        "import json, mbcost\n"
        "from mbcost.results.zoo import tables_dir\n"
        "a = mbcost.analyze('mobilenet_v1', alpha=0.5, resolution=160)\n"
        "print(json.dumps({'file': mbcost.__file__, 'tables': str(tables_dir()),"
        " 'published': sorted(p.name for p in (tables_dir() / 'published').glob('*.csv')),"
        " 'mult_adds': a.total.mult_adds}))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(site))
    out = subprocess.run([sys.executable, "-c", script], cwd=elsewhere, env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["file"].startswith(str(site))
    assert info["tables"] == str(site / "mbcost" / "tables")
    assert "checkpoints.csv" in info["published"]
    assert info["mult_adds"] == mobilenet_oracle(0.5, 160)[0]
