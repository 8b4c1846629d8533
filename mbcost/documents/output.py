"""Writing results: whole or not at all, through what the path names.

* A regular file (new or existing) is written to a temporary file in the same
  folder and renamed over it: a reader never sees half a file. An existing file
  keeps its permissions.
* A symbolic link stays a link: its target gets the content (the same way).
* A device or FIFO (``/dev/stdout``, a named pipe) is written to directly; it is
  never replaced by a regular file.
* Temporary files are named ``.NAME.mbcost-tmp-PID-XXXX`` beside the target; ones
  left by a killed mbcost process (its PID gone) are removed on the next write to
  the same target, so they do not accumulate.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path

from mbcost.errors import MbcostError

TMP_MARK = ".mbcost-tmp-"


def _tmp_prefix(path: Path) -> str:
    return f".{path.name}{TMP_MARK}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def clean_stale(path: Path) -> None:
    """Remove temporary files and folders that a killed mbcost left beside ``path``."""
    folder = path.parent
    prefix = _tmp_prefix(path)
    try:
        names = [n for n in os.listdir(folder) if n.startswith(prefix)]
    except OSError:
        return
    for name in names:
        pid_text = name[len(prefix):].split("-", 1)[0]
        if not pid_text.isascii() or not pid_text.isdigit() or _alive(int(pid_text)):
            continue
        stale = folder / name
        try:
            if stale.is_dir() and not stale.is_symlink():
                shutil.rmtree(stale)
            else:
                stale.unlink()
        except OSError:
            pass


def check_output_path(output: str | None) -> None:
    """An ``--output`` given as an empty string is an error, not standard output."""
    if output is not None and not str(output).strip():
        raise MbcostError("--output is empty: give a file name (or leave the option out for standard output)")


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all (see the module's rules).
    Any failure is an :class:`MbcostError` naming the path."""
    check_output_path(str(path))
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    try:
        mode = os.stat(target).st_mode if os.path.lexists(target) else None
    except OSError:
        mode = None  # a dangling link: its target will be created
    if mode is not None and stat.S_ISDIR(mode):
        raise MbcostError(f"cannot write {path}: it is a directory")
    if mode is not None and not stat.S_ISREG(mode):
        # a device, FIFO or socket: written to, never replaced
        try:
            with open(target, "wb") as fh:
                fh.write(payload)
        except OSError as exc:
            raise MbcostError(f"cannot write {path}: {exc.strerror or exc}") from None
        return
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise MbcostError(f"cannot write {path}: folder {folder} does not exist")
    clean_stale(target)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f"{_tmp_prefix(target)}{os.getpid()}-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        if mode is not None:
            os.chmod(tmp, stat.S_IMODE(mode))
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        raise MbcostError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def staging_folder(folder: Path) -> Path:
    """A new temporary folder beside ``folder``, to build a whole folder in."""
    parent = folder.parent if str(folder.parent) else Path(".")
    clean_stale(folder)
    try:
        return Path(tempfile.mkdtemp(dir=parent, prefix=f"{_tmp_prefix(folder)}{os.getpid()}-"))
    except OSError as exc:
        raise MbcostError(f"cannot write {folder}: {exc.strerror or exc}") from None


def publish_folder(staging: Path, folder: Path) -> None:
    """Move a finished staging folder's files into ``folder`` (created if need
    be: then the whole folder appears at once), replacing files of the same name."""
    try:
        if not os.path.lexists(folder):
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(staging, 0o777 & ~umask)  # as mkdir would make it (mkdtemp's is 0700)
            os.rename(staging, folder)
            return
        for name in sorted(os.listdir(staging)):
            os.replace(staging / name, folder / name)
        os.rmdir(staging)
    except OSError as exc:
        raise MbcostError(f"cannot write {folder}: {exc.strerror or exc}") from None


def emit(doc, fmt: str, output: str | None, comments: bool = False) -> None:
    """Render ``doc`` in ``fmt`` to ``output`` (a file) or to standard output.
    A CSV file gets its conventions beside it, in ``NAME-metadata.json`` (W3C
    CSV on the Web), written before the CSV itself."""
    from mbcost.documents.render import print_rich, render_text

    check_output_path(output)
    if output is not None:
        if fmt == "csv" and _is_regular_target(output):
            from mbcost.documents.render import csv_metadata, strict_json

            folder = Path(os.path.realpath(output)).parent
            if not folder.is_dir():  # the CSV's own name in the error, not its sidecar's
                raise MbcostError(f"cannot write {output}: folder {Path(output).parent} does not exist")
            meta = csv_metadata(doc, Path(output).name)
            write_atomic(f"{output}-metadata.json", strict_json(meta))
        write_atomic(output, render_text(doc, fmt, comments))
    elif fmt == "rich":
        print_rich(doc)
    else:
        sys.stdout.write(render_text(doc, fmt, comments))


def _is_regular_target(output: str) -> bool:
    """A file (new, or an existing regular file or a link to one), not a device or FIFO."""
    target = os.path.realpath(output)
    return not os.path.exists(target) or stat.S_ISREG(os.stat(target).st_mode)
