"""The README's order: what the tool is for, the install and test command, the
quick start with a model of one's own, then the paper's network and its figure.
(Every ``$ mbcost`` block's output is checked in tests/test_docs_examples.py.)"""

from __future__ import annotations

from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_says_what_it_is_for_then_how_to_start():
    text = README.read_text(encoding="utf-8")
    assert "what a convolutional network costs" in text[:300]
    setup = text.index("<!-- test-command -->")
    quick = text.index("## Your own model")
    own = text.index("$ mbcost table --torch my_net.py:build")
    shown = text.index("<!-- main-output -->\n```console\n$ mbcost table --alpha 0.5 --res 160\n")
    image = text.index("](docs/img/tradeoff.png)")
    assert setup < quick < own < shown < image < text.index("## Commands")
    model = text[text.index("```python\n# my_net.py", quick):own]
    assert len(model.split("```")[1].strip().splitlines()) <= 11  # "# my_net.py" and ten lines
    png = (README.parent / "docs/img/tradeoff.png").read_bytes()
    assert png[:4] == b"\x89PNG"
    # legible where GitHub shows it: drawn at 150 dpi or more (the figure is 14.6 inches wide)
    assert int.from_bytes(png[16:20], "big") >= 14.6 * 150
