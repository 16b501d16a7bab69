"""Files and folders written whole or not at all: what every output of bertanno goes through (exports, reports,
predictions, schedule units, model versions).

A file is written to a temporary file in its destination's folder, flushed and fsynced, then renamed over the
destination (``os.replace``, atomic on POSIX and Windows within one file system); a folder is written as a fresh
sibling folder and swapped in whole. A failure or a kill at any moment leaves the destination as it was (the
old bytes, or nothing where there was nothing) and never a partial file under the destination's name; a
temporary left by a kill is named ``.NAME.partial-…`` beside it and removed by the next write of the same name.

The bottom layer beside ``errors``: it imports nothing else of bertanno.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, Iterator

from bertanno.errors import BertannoError

PARTIAL = ".partial-"
"""What the name of a temporary file or folder holds between its destination's name and its random tail."""


def _partial_prefix(path: Path) -> str:
    return f".{path.name}{PARTIAL}"


def _sweep(path: Path) -> None:
    """Remove what killed writes of ``path`` left beside it (``.NAME.partial-…``). A folder moved aside by an
    ``atomic_directory`` killed between its two renames is put back first, when nothing took its place."""
    with contextlib.suppress(OSError):
        for left in path.parent.glob(_partial_prefix(path) + "*"):
            if (left / "old").is_dir() and not path.exists():
                os.replace(left / "old", path)
            shutil.rmtree(left, ignore_errors=True) if left.is_dir() else left.unlink(missing_ok=True)


def _fsync_folder(folder: Path) -> None:
    """Make a rename inside ``folder`` durable (a no-op where folders cannot be opened, as on Windows)."""
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def cannot_write(path: Path, exc: OSError) -> BertannoError:
    """The sentence for an output that could not be written (no permission, a full disk, …)."""
    return BertannoError(f"cannot write {path}: {exc.strerror or exc}; the file there before, if any, is unchanged")


@contextlib.contextmanager
def atomic_file(path: str | Path, binary: bool = False, encoding: str = "utf-8",
                mode: int | None = None) -> Iterator[IO]:
    """Open a temporary file beside ``path`` for writing (text in ``encoding`` with newlines as given, or
    ``binary``); when the block ends without an exception it is flushed, fsynced and renamed over ``path``.
    ``mode``: the file's permissions (``0o600`` for a secret: the temporary is created with them, so no byte
    is ever readable by others); default: those of the file it replaces, else the umask's.
    On any exception (a full disk, Ctrl-C) the temporary is removed and ``path`` is left as it was; an
    ``OSError`` becomes ``BertannoError`` with a sentence. Raises ``BertannoError`` when ``path``'s folder does
    not exist."""
    path = Path(path)
    if not path.parent.is_dir():
        raise BertannoError(f"cannot write {path}: the folder {path.parent} does not exist")
    _sweep(path)
    try:
        descriptor, name = tempfile.mkstemp(prefix=_partial_prefix(path), dir=path.parent)
    except OSError as exc:
        raise cannot_write(path, exc) from None
    temporary = Path(name)
    try:
        with (os.fdopen(descriptor, "wb") if binary else
              os.fdopen(descriptor, "w", encoding=encoding, newline="")) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        with contextlib.suppress(OSError):  # mkstemp made it 0o600
            if mode is not None:
                os.chmod(temporary, mode)
            elif path.exists():
                os.chmod(temporary, path.stat().st_mode & 0o7777)  # the file keeps its permissions
            else:
                os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
        _fsync_folder(path.parent)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise cannot_write(path, exc) from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: str | Path, text: str, encoding: str = "utf-8", mode: int | None = None) -> None:
    """Write ``text`` to ``path`` whole or not at all (``atomic_file``); ``mode``: the new file's permissions
    (``0o600`` for a file that holds a secret: set before any byte is written). Raises ``BertannoError``."""
    with atomic_file(path, encoding=encoding, mode=mode) as stream:
        stream.write(text)


def write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all (``atomic_file``). Raises ``BertannoError``."""
    with atomic_file(path, binary=True) as stream:
        stream.write(data)


@contextlib.contextmanager
def atomic_directory(path: str | Path) -> Iterator[Path]:
    """A fresh temporary folder beside ``path`` to fill; when the block ends without an exception it replaces
    ``path`` whole (an existing ``path`` is moved aside, the new folder renamed in, the old one removed). On any
    exception the temporary folder is removed and ``path`` is left as it was. The caller decides beforehand
    whether an existing ``path`` may be replaced. Raises ``BertannoError`` when ``path``'s folder does not
    exist or a file stands at ``path``."""
    path = Path(path)
    if not path.parent.is_dir():
        raise BertannoError(f"cannot write {path}: the folder {path.parent} does not exist")
    if path.exists() and not path.is_dir():
        raise BertannoError(f"{path} is a file, not a folder")
    _sweep(path)
    try:
        temporary = Path(tempfile.mkdtemp(prefix=_partial_prefix(path), dir=path.parent))
    except OSError as exc:
        raise cannot_write(path, exc) from None
    try:
        yield temporary
        os.chmod(temporary, 0o777 & ~_umask())
        old = None
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=_partial_prefix(path), dir=path.parent))
            os.replace(path, old / "old")
        os.replace(temporary, path)
        _fsync_folder(path.parent)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        shutil.rmtree(temporary, ignore_errors=True)
        raise cannot_write(path, exc) from None
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
