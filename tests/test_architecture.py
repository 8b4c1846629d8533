"""The package's import graph: no cycle and no private name imported across modules.

Every ``import`` counts, module-level or inside a function (a lazy import is
still a dependency: it only moves the failure to run time). The checker is run on
a small package written here first, so that each rule is seen to fail."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "mbcost"


def module_names(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package at ``root``."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imports(root: Path) -> list[tuple[str, str, str | None]]:
    """(importer, imported module, name or None) for every import inside the package."""
    mods = module_names(root)
    found = []
    for importer, path in mods.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found += [(importer, a.name, None) for a in node.names if a.name in mods]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = importer.split(".")[: len(importer.split(".")) - node.level + is_package]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module
                for a in node.names:
                    if f"{target}.{a.name}" in mods:  # 'from pkg import module'
                        found.append((importer, f"{target}.{a.name}", None))
                    elif target in mods:
                        found.append((importer, target, a.name))
    return [(a, b, n) for a, b, n in found if a != b]


def cycles(edges: list[tuple[str, str, str | None]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for a, b, _ in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def private_imports(edges) -> list[str]:
    """'importer <- module._name' for a private name imported from another module (dunders are public)."""
    return [f"{a} <- {b}.{n}" for a, b, n in edges
            if n and n.startswith("_") and not (n.startswith("__") and n.endswith("__"))]


@pytest.fixture
def toy(tmp_path):
    """A package with a lazy cycle (a -> b at module level, b -> a inside a function)
    and a private import, to see the checks fail."""
    pkg = tmp_path / "toy"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("__version__ = '1'\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from toy.sub import b\nfrom toy import __version__\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from toy.a import thing\n    from .c import _hidden\n")
    (pkg / "sub" / "c.py").write_text("_hidden = 1\n")
    return pkg


def test_the_checks_see_a_lazy_cycle_and_a_private_import(toy):
    edges = imports(toy)
    assert cycles(edges) == [["toy.a", "toy.sub.b"]]
    assert private_imports(edges) == ["toy.sub.b <- toy.sub.c._hidden"]


@pytest.fixture(scope="module")
def package_imports():
    return imports(PACKAGE)  # parsed once for both checks


def test_the_package_has_no_import_cycle(package_imports):
    assert len(package_imports) > 500  # the parser sees the package's imports (about 700)
    assert cycles(package_imports) == []


def test_no_private_name_is_imported_across_modules(package_imports):
    assert private_imports(package_imports) == []


def test_the_table_types_are_pure():
    """The cost table types import no adapter, document, figure or framework."""
    tree = ast.parse((PACKAGE / "results" / "tables.py").read_text(encoding="utf-8"))
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    modules |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    allowed = ("mbcost.core", "mbcost.kinds", "mbcost.errors", "mbcost.results.frames", "__future__", "dataclasses",
               "copy")
    assert [m for m in modules if not m.startswith(allowed)] == []


#: The layers a result is made in (docs/architecture.md's rows from the language
#: down to the attachments): none of them lays a result out for people.
RESULT_LAYERS = ("errors", "numbers", "options", "language", "kinds", "core", "results", "sources", "attachments")
#: The layers that lay results out: documents, figures and the CLI.
PRESENTATION_LAYERS = ("documents", "figures", "cli")
#: (importer, imported) pairs allowed to cross anyway, each with its reason. None today.
ALLOWED_PRESENTATION_IMPORTS: dict[tuple[str, str], str] = {}


def presentation_imports(edges, package: str = "mbcost", allowed=ALLOWED_PRESENTATION_IMPORTS) -> list[str]:
    """'importer -> module' for a result layer importing a presentation layer,
    at module level or inside a function."""
    def within(module: str, layers) -> bool:
        return any(module == f"{package}.{layer}" or module.startswith(f"{package}.{layer}.") for layer in layers)

    return sorted({f"{a} -> {b}" for a, b, _ in edges
                   if within(a, RESULT_LAYERS) and within(b, PRESENTATION_LAYERS) and (a, b) not in allowed})


@pytest.fixture
def layered(tmp_path):
    """A package whose results import a document inside a function and whose kinds
    import the CLI; its documents import the results (the allowed direction)."""
    pkg = tmp_path / "lay"
    for sub in ("results", "documents", "kinds"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "cli.py").write_text("")
    (pkg / "results" / "paper.py").write_text("def doc():\n    from lay.documents.render import Table\n")
    (pkg / "results" / "frames.py").write_text("")
    (pkg / "documents" / "render.py").write_text("from lay.results import frames\nTable = 1\n")
    (pkg / "kinds" / "conv.py").write_text("from lay import cli\n")
    return pkg


def test_the_presentation_check_sees_a_result_importing_a_document(layered):
    edges = imports(layered)
    assert presentation_imports(edges, "lay", {}) == ["lay.kinds.conv -> lay.cli",
                                                      "lay.results.paper -> lay.documents.render"]
    allowed = {("lay.results.paper", "lay.documents.render"): "a reason"}
    assert presentation_imports(edges, "lay", allowed) == ["lay.kinds.conv -> lay.cli"]


def test_results_and_what_they_are_made_of_never_import_documents_figures_or_the_cli(package_imports):
    """Results are data (``records()``, ``to_frame()``); documents, figures and the
    CLI lay them out and import them, never the other way (not even inside a
    function), so a result is usable without the renderer."""
    assert presentation_imports(package_imports) == []
