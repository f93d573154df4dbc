"""Reading and writing arrays safely: ``.npz`` without pickle, written atomically.

* :func:`save_npz_atomic` writes to a temporary file in the target's folder, flushes and
  fsyncs it, then ``os.replace``-s it over the target: a crash or an exception midway
  leaves the previous file as it was, never a half-written one.
* :func:`load_npz` reads with ``allow_pickle=False`` (a file cannot run code) and turns
  every way a file can be wrong into one ``ValueError`` that names the file.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile

import numpy as np

META_KEY = "__meta__"


def atomic_write(path, write):
    """Call ``write(file_object)`` on a temporary file, then move it over ``path`` in one step."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"cannot write {path}: folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


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


def load_npz(path):
    """Read an ``.npz`` written by :func:`save_npz_atomic` -> ``(arrays, meta)``; no pickle, clear errors."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"{path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except ValueError as err:
        if "allow_pickle" in str(err) or "Object arrays" in str(err):
            raise ValueError(
                f"{path}: contains pickled objects, which are never loaded (allow_pickle=False)"
            ) from None
        raise ValueError(f"{path}: not a readable .npz file ({err})") from None
    except (zipfile.BadZipFile, OSError, EOFError, KeyError) as err:
        raise ValueError(f"{path}: not a readable .npz file (truncated or corrupt: {err})") from None
    meta = {}
    if META_KEY in arrays:
        try:
            meta = json.loads(str(arrays.pop(META_KEY)))
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: unreadable metadata ({err})") from None
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
