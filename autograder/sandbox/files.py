"""Reading what a submission wrote in its sandbox folder, as data: no link followed, no device, sizes capped.

The submission owns ``work/`` and may have put a link, a FIFO or a huge file
wherever the grader will look. Every read here goes through descriptors
opened with ``O_NOFOLLOW`` from the sandbox's folder down, one step at a
time, and checks what it opened before reading.
"""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

from autograder.errors import ErrorKind, SubmissionError

#: Files listed at most by ``list_files``.
MAX_LISTED = 10_000


def open_dir(workdir: Path, rel: str) -> int:
    """A descriptor of the folder ``rel`` under ``workdir``, reached through no link at any step.

    Raises ``SubmissionError`` (kind ``MISSING``, or ``PATH`` for a link, a
    non-folder or a path outside ``workdir``).
    """
    norm = os.path.normpath(rel)
    if os.path.isabs(rel) or norm == ".." or norm.startswith("../"):
        raise SubmissionError(f"{rel!r} is outside the submission's folder", ErrorKind.PATH)
    fd = os.open(workdir, os.O_RDONLY | os.O_DIRECTORY)
    for part in [p for p in norm.split("/") if p not in ("", ".")]:
        try:
            nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
        except FileNotFoundError:
            os.close(fd)
            raise SubmissionError(f"{rel!r} was not written", ErrorKind.MISSING) from None
        except OSError:
            os.close(fd)
            raise SubmissionError(f"{rel!r} cannot be read: {part} is a link or not a folder",
                                  ErrorKind.PATH) from None
        os.close(fd)
        fd = nxt
    return fd


def _open_regular(dir_fd: int, name: str, max_bytes: int, label: str) -> tuple[io.BufferedReader, int]:
    """The regular file ``name`` in an open folder, opened without following links, and its size."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    except FileNotFoundError:
        raise SubmissionError(f"{label} was not written", ErrorKind.MISSING) from None
    except OSError as e:
        raise SubmissionError(f"{label} cannot be read ({e.strerror}; a link?)", ErrorKind.PATH) from None
    f = os.fdopen(fd, "rb")
    st = os.fstat(f.fileno())
    if not stat.S_ISREG(st.st_mode):
        f.close()
        raise SubmissionError(f"{label} is not a regular file", ErrorKind.PATH)
    if st.st_size > max_bytes:
        f.close()
        raise SubmissionError(f"{label} is {st.st_size} bytes; the limit is {max_bytes}", ErrorKind.SIZE)
    return f, st.st_size


def read_at(dir_fd: int, name: str, max_bytes: int, label: str) -> bytes:
    """The bytes of the regular file ``name`` in an open folder: no links, no devices, at most ``max_bytes``.

    Raises ``SubmissionError`` (kind ``MISSING``, ``PATH`` or ``SIZE``); ``label`` names the file in its message.
    """
    f, _ = _open_regular(dir_fd, name, max_bytes, label)
    with f:
        return f.read(max_bytes + 1)[:max_bytes]


def read_into(dir_fd: int, name: str, max_bytes: int, label: str) -> bytearray:
    """``read_at``, into a buffer of the file's size: an array can be laid over it, writable, without a copy.

    A file that grows while it is read is cut at the size it had when opened.
    """
    f, size = _open_regular(dir_fd, name, max_bytes, label)
    with f:
        buffer = bytearray(size)
        got = f.readinto(buffer)
    return buffer if got == size else buffer[:got]


def read_file(workdir: Path, path: str, max_bytes: int) -> bytes:
    """The bytes of the file ``path`` (relative to ``workdir``); see ``open_dir`` and ``read_at`` for what it raises."""
    parent, _, name = os.path.normpath(path).rpartition("/")
    fd = open_dir(workdir, parent or ".")
    try:
        return read_at(fd, name, max_bytes, path)
    finally:
        os.close(fd)


def list_files(workdir: Path, folder: str = ".", skip: frozenset[str] = frozenset()) -> list[str]:
    """Regular files under ``folder`` (relative to ``workdir``), as relative paths; no link is followed.

    Folders named in ``skip`` are not entered; a missing ``folder`` lists
    nothing; at most about ``MAX_LISTED`` files are listed.
    """
    try:
        fd = open_dir(workdir, folder)
    except SubmissionError as e:
        if e.kind == ErrorKind.MISSING:
            return []
        raise
    found = []
    try:
        for dirpath, dirnames, filenames, dir_fd in os.fwalk(".", dir_fd=fd, follow_symlinks=False):
            dirnames[:] = [d for d in dirnames if d not in skip]
            for f in filenames:
                try:
                    st = os.stat(f, dir_fd=dir_fd, follow_symlinks=False)
                except OSError:
                    continue
                if stat.S_ISREG(st.st_mode):
                    found.append(os.path.normpath(os.path.join(folder, dirpath, f)))
            if len(found) > MAX_LISTED:
                break
    finally:
        os.close(fd)
    return sorted(found)
