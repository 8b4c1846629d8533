"""The built-in networks: the ``*.spec`` files of ``tables/``, shipped inside the
package (``mbcost/tables`` in a wheel, the repository's ``tables/`` in a checkout).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from mbcost.errors import MbcostError, input_file
from mbcost.core.network import Network

#: Short names users type, case-insensitive.
ALIASES = {
    "mobilenet": "mobilenet_v1",
    "mobilenetv1": "mobilenet_v1",
    "mobilenetv2": "mobilenet_v2",
    "mobilenet-v2": "mobilenet_v2",
    "conv-mobilenet": "conv_mobilenet",
    "shallow-mobilenet": "shallow_mobilenet",
    "vgg": "vgg16",
    "vgg-16": "vgg16",
    "vgg_16": "vgg16",
    "inception_v1": "googlenet",
    "inceptionv1": "googlenet",
    "inception-v1": "googlenet",
    "inceptionv3": "inception_v3",
    "inception-v3": "inception_v3",
    "squeezenet1.0": "squeezenet",
    "squeezenet1_0": "squeezenet",
    "squeezenet-1.0": "squeezenet",
    "torchvision_alexnet": "alexnet_torchvision",
    "alexnet-torchvision": "alexnet_torchvision",
    "tv_alexnet": "alexnet_torchvision",
    "torchvision_googlenet": "googlenet_torchvision",
    "googlenet-torchvision": "googlenet_torchvision",
    "tv_googlenet": "googlenet_torchvision",
}


def tables_dir() -> Path:
    package = Path(__file__).resolve().parents[1]  # mbcost/
    for candidate in (package / "tables", package.parent / "tables"):
        if candidate.is_dir():
            return candidate
    raise MbcostError("the built-in tables are missing from this installation of mbcost")


def spec_paths() -> dict[str, Path]:
    """Zoo name -> spec file, sorted by name."""
    return {p.stem: p for p in sorted(tables_dir().glob("*.spec"))}


@lru_cache(maxsize=None)
def presets() -> dict[str, dict]:
    """Zoo name -> a spec at published coefficients (tables/presets.csv):
    efficientnet_b1 .. b7 of efficientnet_b0, mnasnet0_5 .. 1_3 of mnasnet1_0."""
    import csv

    path = tables_dir() / "presets.csv"
    if not path.is_file():
        return {}
    with open(path, encoding="utf-8", newline="") as fh:
        return {row["name"]: row for row in csv.DictReader(fh)}


def model_names() -> list[str]:
    """Every built-in name, sorted naturally: resnet18 before resnet101."""
    import re

    return sorted([*spec_paths(), *presets()],
                  key=lambda n: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", n)])


def canonical_name(name: str) -> str:
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    paths = spec_paths()
    if key in paths or key in presets():
        return key
    choices = list(paths) + list(presets()) + list(ALIASES)
    import difflib  # only on this error path

    close = difflib.get_close_matches(key, choices, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise MbcostError(f"unknown model '{name}'{hint} ('mbcost models' lists them all)")


def looks_like_path(name: str) -> bool:
    return name.endswith(".spec") or "/" in name or "\\" in name or Path(name).is_file()


def load_network(name_or_path: str | Path) -> Network:
    """A zoo model by name (or alias), or a spec file by path."""
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or looks_like_path(text):
        return Network.from_file(input_file(text, "spec file"))
    return _load_zoo(canonical_name(text))


@lru_cache(maxsize=None)
def _load_zoo(name: str) -> Network:
    preset = presets().get(name)
    if preset is not None:
        base = _load_zoo(preset["base"])
        return base.preset(name, preset["description"], alpha=preset["alpha"], depth_mult=preset["depth_mult"],
                           resolution=int(preset["resolution"]))
    return Network.from_file(spec_paths()[name])


def describe_models() -> list[tuple[str, str]]:
    """(name, one-line description) for every built-in model."""
    return [(name, load_network(name).description) for name in model_names()]
