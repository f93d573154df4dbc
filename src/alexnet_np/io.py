"""Reading and writing arrays safely: ``.npz`` without pickle, written atomically.

* :func:`save_npz_atomic` writes to a temporary file in the target's folder, flushes and
  fsyncs it, then ``os.replace``-s it over the target: a crash or an exception midway
  leaves the previous file as it was, never a half-written one.
* :func:`load_npz` reads with ``allow_pickle=False`` (a file cannot run code) and turns
  every way a file can be wrong into one ``ValueError`` that names the file. Sizes are
  checked before anything is decompressed or allocated: a 4 MB file can hold a deflated
  member of 4 GiB of zeros, so every member's declared size (the zip directory's, and the
  ``.npy`` header's shape × itemsize, which must agree) counts against ``max_bytes``
  (:data:`DEFAULT_MAX_BYTES`, 4 GiB in all). Only numeric arrays are read (bool, integers,
  float16/32/64); raw members, object, structured, complex and string arrays are refused.
* :func:`open_regular_file` opens only regular files: a named pipe (FIFO) would block a
  reader forever, a device such as ``/dev/zero`` never ends.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import stat
import tempfile
import zipfile
import zlib

import numpy as np

from .errors import BadArgument, BadFile, RefusedOverwrite

META_KEY = "__meta__"
# The one budget for what a file or an argument may make us allocate: the arrays a file unpacks to, the weights
# a model description asks for, the images a data set or a preprocessing record asks for, a batch's forward
# pass. The largest file this project writes, a float64 training checkpoint of the single tower (weights and
# momentum), is about 1 GiB; a training step of the single tower at batch 128 about 5 GiB (not a load: the
# user asked for it).
DEFAULT_MAX_BYTES = 4 * 2**30
MEMORY_BUDGET = DEFAULT_MAX_BYTES


def check_budget(nbytes, what, where, error=None, budget=None):
    """Refuse, before allocating, ``nbytes`` that ``what`` (a phrase) in ``where`` (a file, an option) asks for.

    Raises ``error`` (default :class:`~alexnet_np.errors.BadFile`) naming both, the size and the budget, when
    ``nbytes`` exceeds ``budget`` (default :data:`MEMORY_BUDGET`); sizes are Python ints (no overflow)."""
    budget = MEMORY_BUDGET if budget is None else budget
    if int(nbytes) > budget:
        raise (error or BadFile)(
            f"{where}: {what} would take {_bytes_text(int(nbytes))}, more than the {_bytes_text(budget)} "
            f"that any one load may ask for"
        )


def _bytes_text(n):
    return f"{n / 2**30:,.1f} GiB ({n:,} bytes)" if n >= 2**30 else f"{n:,} bytes"


META_MAX_BYTES = 2**20  # the metadata is a line of JSON
_FLOAT_SIZES = (2, 4, 8)  # float16/32/64; not long double, whose layout differs between machines


def _kind_of(mode) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def regular_file_problem(path):
    """Why ``path`` is not a regular file (after following links) as a phrase, or None if it is one."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "no such file" if not os.path.islink(path) else "a broken link"
    except OSError as err:
        return f"cannot be read ({err.strerror})"
    return None if stat.S_ISREG(mode) else f"{_kind_of(mode)}, not a regular file"


def open_regular_file(path):
    """Open ``path`` for binary reading if it is a regular file; otherwise ``ValueError`` naming it.

    The check is made on the opened descriptor (``fstat``), so a file swapped for a FIFO after a
    check cannot slip through; the open itself is non-blocking, which is what keeps it from
    waiting forever for a writer on a FIFO (on a regular file the flag changes nothing).
    """
    path = os.fspath(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise BadFile(f"{path}: {regular_file_problem(path)}") from None
    except OSError as err:
        raise BadFile(f"{path}: cannot be opened ({err.strerror})") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise BadFile(f"{path}: {_kind_of(mode)}, not a regular file")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


TEMP_PREFIX = ".tmp-alexnet_np-"  # temporary files of ours: short (a long target name stays valid)


def new_file_mode():
    """The permissions a new file gets here: 0666 less the process's umask (what ``open(path, "w")`` gives)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def check_target(path, *, force=False):
    """``path`` as a Path, if a command may write a file there; else :class:`RefusedOverwrite`, in one line.

    Refused: a symbolic link, always (a command never writes through one, nor replaces it); something that
    is not a regular file; an existing file unless ``force`` (the user's ``--force``). A command checks every
    file it will write before it starts the work, so a refusal costs nothing.
    """
    from pathlib import Path

    path = Path(path)
    if path.is_symlink():
        raise RefusedOverwrite(
            f"{path} is a symbolic link: refusing to write through it (to {os.readlink(path)})"
        )
    if path.exists() and not path.is_file():
        raise RefusedOverwrite(f"{path} exists and is not a file: refusing to replace it")
    if path.exists() and not force:
        raise RefusedOverwrite(f"{path} exists: refusing to replace it (--force replaces it)")
    return path


def refuse_link(path, what=""):
    """``path`` unchanged, unless it is a symbolic link (dangling or not): then :class:`RefusedOverwrite` in one
    line. For the folders a command writes into (and the ones it makes inside them): never written through."""
    if os.path.islink(path):
        raise RefusedOverwrite(
            f"{what + ' ' if what else ''}{path} is a symbolic link: refusing to write through it "
            f"(to {os.readlink(path)})"
        )
    return path


def atomic_write(path, write):
    """Call ``write(file_object)`` on a temporary file, then move it over ``path`` in one step.

    The temporary file sits in the target's folder under a short name of its own (:data:`TEMP_PREFIX`), so
    a target name near the file system's 255-byte limit still works; the result gets the permissions any
    new file gets (0666 less the umask), not the temporary file's private 0600.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise BadArgument(f"cannot write {path}: folder {folder} does not exist")
    if os.path.isdir(path):
        raise BadArgument(f"cannot write {path}: it is a folder")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=TEMP_PREFIX)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fchmod(f.fileno(), new_file_mode())
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def remove_stale_temporaries(folder, older_than=None):
    """Delete temporary files of ours that a killed writer left in ``folder`` -> how many.

    Call it only where no live writer of ours can own one: under the folder's lock (``train --out``), or
    with ``older_than`` seconds so that only files no write could still be busy with are touched.
    """
    import time

    removed = 0
    for name in os.listdir(folder):
        full = os.path.join(folder, name)
        if not (name.startswith(TEMP_PREFIX) and os.path.isfile(full)) or os.path.islink(full):
            continue  # a link is never one of ours (our temporaries are files made by mkstemp)
        if older_than is not None and time.time() - os.path.getmtime(full) < older_than:
            continue
        os.remove(full)
        removed += 1
    return removed


def save_npz_atomic(path, arrays: dict, meta: dict | None = None):
    """Write ``arrays`` (and ``meta`` as JSON text) to ``path`` as an uncompressed ``.npz``, atomically."""
    for k, v in arrays.items():
        if not isinstance(v, np.ndarray) or v.dtype.hasobject:
            raise TypeError(
                f"cannot save {k!r}: only numeric numpy arrays are written, got {type(v).__name__}"
            )
    payload = dict(arrays)
    if meta is not None:
        payload[META_KEY] = np.array(json.dumps(meta, sort_keys=True))
    atomic_write(path, lambda f: np.savez(f, **payload))


@contextlib.contextmanager
def _unreadable(path, where):
    """Turn what zipfile, zlib and numpy raise for a damaged file into one ValueError naming the file."""
    try:
        yield
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        zlib.error,
        OSError,
        EOFError,
        RuntimeError,  # an encrypted member
        NotImplementedError,  # an unknown compression method
        ValueError,  # numpy: a malformed .npy header
        UnicodeError,
    ) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise BadFile(f"{path}: not a readable .npz file ({where}{first})") from None


def _read_header(stream):
    """``(shape, fortran_order, dtype, header_length)`` of a ``.npy`` stream; the body is left unread."""
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
    else:  # 3.0 exists only for structured dtypes with non-Latin-1 field names, refused anyway
        raise BadFile(f"unsupported .npy format version {version[0]}.{version[1]}")
    return shape, fortran, dtype, stream.tell()


def _dtype_problem(key, dtype, shape):
    """Why an array of ``dtype`` is not loaded (a phrase), or None."""
    if dtype.hasobject:
        return "object"
    if key == META_KEY:
        return None if dtype.kind == "U" and shape == () else "not a 0-d unicode array"
    if dtype.fields is not None or dtype.subdtype is not None:
        return "structured"
    if dtype.kind in "biu" or (dtype.kind == "f" and dtype.itemsize in _FLOAT_SIZES):
        return None
    return "not numeric (bool, integers, float16/32/64)"


def _member_plan(path, zf, max_bytes):
    """Check every member's name and sizes, then every header, before any body is read -> [(key, info)]."""
    infos, keys = zf.infolist(), set()
    for info in infos:
        name = info.filename
        if info.is_dir() or not name.endswith(".npy"):
            raise BadFile(f"{path}: member {name!r} is not a .npy array (raw members are never loaded)")
        if name[: -len(".npy")] in keys:
            raise BadFile(f"{path}: member {name!r} appears twice")
        keys.add(name[: -len(".npy")])
    total = sum(info.file_size for info in infos)  # from the zip directory, before any member is opened
    if total > max_bytes:
        raise BadFile(
            f"{path}: the arrays unpack to {total:,} bytes, more than max_bytes={max_bytes:,}; "
            f"pass load_npz(..., max_bytes=...) to allow a larger file"
        )
    plan = []
    for info in infos:
        name, key = info.filename, info.filename[: -len(".npy")]
        with _unreadable(path, f"member {name!r}: "), zf.open(info) as stream:
            shape, _, dtype, header_length = _read_header(stream)
        problem = _dtype_problem(key, dtype, shape)
        if problem == "object":
            raise BadFile(f"{path}: contains pickled objects, which are never loaded (allow_pickle=False)")
        if problem is not None:
            raise BadFile(f"{path}: member {name!r} has dtype {dtype}: {problem}")
        if any(d < 0 for d in shape):
            raise BadFile(f"{path}: member {name!r} declares a negative shape {shape} (corrupt)")
        declared = math.prod(shape) * dtype.itemsize
        if header_length + declared != info.file_size:
            raise BadFile(
                f"{path}: member {name!r} is corrupt: its header declares {shape} {dtype} "
                f"({declared:,} bytes) but the zip directory says {info.file_size - header_length:,}"
            )
        if key == META_KEY and declared > META_MAX_BYTES:
            raise BadFile(f"{path}: metadata of {declared:,} bytes; at most {META_MAX_BYTES:,} are read")
        plan.append((key, info))
    return plan


def _parse_meta(path, value):
    try:
        meta = json.loads(str(value[()]))
    except json.JSONDecodeError as err:
        raise BadFile(f"{path}: unreadable metadata ({err})") from None
    except RecursionError:  # a few hundred kB of nested brackets, under the size limit
        raise BadFile(f"{path}: unreadable metadata (nested deeper than JSON is read here)") from None
    if not isinstance(meta, dict):
        raise BadFile(f"{path}: metadata must be a JSON object, got {type(meta).__name__}")
    return meta


def load_npz(path, *, max_bytes=None):
    """Read an ``.npz`` written by :func:`save_npz_atomic` -> ``(arrays, meta)``; no pickle, clear errors.

    ``max_bytes`` (default :data:`MEMORY_BUDGET`) bounds what the file may unpack to (all members together, as
    the zip directory and the ``.npy`` headers declare it), checked before anything is decompressed. Arrays come back
    in native byte order (a big-endian file is byte-swapped; the values are unchanged).
    """
    path = os.fspath(path)
    max_bytes = MEMORY_BUDGET if max_bytes is None else max_bytes
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, (int, np.integer)) or max_bytes < 1:
        raise BadArgument(f"load_npz: max_bytes must be a positive int, got {max_bytes!r}")
    with open_regular_file(path) as f:
        with _unreadable(path, ""):
            zf = zipfile.ZipFile(f)
        with zf:
            plan = _member_plan(path, zf, int(max_bytes))
            arrays = {}
            for key, info in plan:
                with _unreadable(path, f"member {info.filename!r}: "), zf.open(info) as stream:
                    a = np.lib.format.read_array(stream, allow_pickle=False)
                    if stream.read(1):  # sizes were checked; reading on to the end also checks the CRC
                        raise BadFile("data after the array")
                arrays[key] = a if a.dtype.isnative else a.astype(a.dtype.newbyteorder("="))
    meta = _parse_meta(path, arrays.pop(META_KEY)) if META_KEY in arrays else {}
    return arrays, meta


def check_arrays(expected: dict, given: dict) -> list:
    """Every way ``given`` differs from ``expected`` (names, then shapes and dtypes), as a list of strings.

    Used before anything is copied, so a file either loads whole or not at all.
    """
    problems = []
    missing = [k for k in expected if k not in given]
    unexpected = [k for k in given if k not in expected]
    if missing:
        problems.append(f"missing keys: {missing}")
    if unexpected:
        problems.append(f"unexpected keys: {unexpected}")
    for k, target in expected.items():
        v = given.get(k)
        if v is None:
            continue
        if not isinstance(v, np.ndarray):
            problems.append(f"{k}: expected a numpy array, got {type(v).__name__}")
        elif v.shape != target.shape:
            problems.append(f"{k}: expected shape {target.shape}, got {v.shape}")
        elif v.dtype != target.dtype:
            problems.append(f"{k}: expected dtype {target.dtype}, got {v.dtype}")
    return problems
