"""Writing results: whole or not at all."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from mbcost.errors import MbcostError


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and
    an atomic rename, so a reader never sees a half-written file. Any failure is
    an :class:`MbcostError` naming the path."""
    path = Path(path)
    if path.is_dir():
        raise MbcostError(f"cannot write {path}: it is a directory")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise MbcostError(f"cannot write {path}: folder {folder} does not exist")
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise MbcostError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def emit(doc, fmt: str, output: str | None) -> None:
    """Render ``doc`` in ``fmt`` to ``output`` (a file) or to standard output."""
    from mbcost.render import print_rich, render_text

    if output:
        write_atomic(output, render_text(doc, fmt))
    elif fmt == "rich":
        print_rich(doc)
    else:
        sys.stdout.write(render_text(doc, fmt))
