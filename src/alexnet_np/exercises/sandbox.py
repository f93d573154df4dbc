"""Run a student's function in a forked child process, where it cannot reach the grader's state.

Why a fork (and not ``spawn``): the function may be defined in a notebook cell (``__main__``), which no other
process can import; a forked child inherits it, its globals and its helpers as they are. The child first
*scrubs* every expected value it inherited (each :class:`~.grader.Check` and earlier result in memory is
emptied), replaces alexnet_np's own functions, methods and kernels with tripwires that name themselves when
called, blocks importing the rest of alexnet_np, and redirects stdout/stderr. The parent sends only the
inputs; the answers come back through a pipe in a plain format (JSON plus ``.npy`` bytes read with
``allow_pickle=False``) — never a pickle, since unpickling what student code wrote could run it in the
grader. A call that runs past the time limit, exits or crashes ends the child; the next call forks a fresh one.

Where ``fork`` does not exist (Windows), the function runs in the grader's process and the report says so.
"""

from __future__ import annotations

import copy
import gc
import io
import json
import multiprocessing as mp
import sys
import time
import types

import numpy as np

HAVE_FORK = "fork" in mp.get_all_start_methods()
OUTPUT_LIMIT = 4000  # characters of the student's printed output kept per call

# ---- the plain format both ways -------------------------------------------------------------------------


class Opaque:
    """Something the student returned that is not a number, array, tuple/list or None (kept by name only)."""

    def __init__(self, type_name, text):
        self.type_name, self.text = type_name, text

    def __repr__(self):
        return self.text


def encode(obj, arrays):
    """``obj`` as JSON-able data; each ndarray appended to ``arrays`` and referred to by its index."""
    if obj is None:
        return ["none"]
    if isinstance(obj, (bool, np.bool_)):
        return ["bool", bool(obj), type(obj).__name__]
    if isinstance(obj, np.generic) and obj.dtype.kind in "iuf":
        return ["npscalar", obj.dtype.str, obj.item() if obj.dtype.kind != "f" else float(obj)]
    if isinstance(obj, int):
        return ["int", int(obj)]
    if isinstance(obj, float):
        return ["float", float(obj)]
    if isinstance(obj, str):
        return ["str", str(obj)]
    if isinstance(obj, np.ndarray) and not obj.dtype.hasobject:
        arrays.append(obj)
        return ["array", len(arrays) - 1]
    if isinstance(obj, (tuple, list)):
        return ["tuple" if isinstance(obj, tuple) else "list", [encode(o, arrays) for o in obj]]
    try:
        text = repr(obj)[:120]
    except Exception:  # noqa: BLE001 - a student's object whose repr raises
        text = "?"
    return ["opaque", type(obj).__name__, text]


def decode(data, arrays):
    kind = data[0]
    if kind == "none":
        return None
    if kind == "bool":
        return np.bool_(data[1]) if data[2] == "bool_" else bool(data[1])
    if kind == "npscalar":
        return np.dtype(data[1]).type(data[2])
    if kind in ("int", "float", "str"):
        return {"int": int, "float": float, "str": str}[kind](data[1])
    if kind == "array":
        return arrays[data[1]]
    if kind in ("tuple", "list"):
        items = [decode(d, arrays) for d in data[1]]
        return tuple(items) if kind == "tuple" else items
    return Opaque(data[1], data[2])


def _send(conn, obj):
    arrays = []
    head = json.dumps(encode(obj, arrays), allow_nan=True).encode()
    conn.send_bytes(head)
    conn.send_bytes(str(len(arrays)).encode())
    for a in arrays:
        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(a), allow_pickle=False)
        conn.send_bytes(buf.getvalue())


def _recv(conn):
    head = json.loads(conn.recv_bytes().decode())
    count = int(conn.recv_bytes().decode())
    if count > 10_000:
        raise ValueError("too many arrays")
    arrays = [np.load(io.BytesIO(conn.recv_bytes()), allow_pickle=False) for _ in range(count)]
    return decode(head, arrays)


# ---- the child: scrub, tripwires, run ---------------------------------------------------------------------


class Refused(BaseException):  # noqa: N818 - a BaseException so that ``except Exception`` cannot hide it
    """Raised by a tripwire: the student's function called alexnet_np's own implementation."""


_REFUSED: list = []  # names of the library functions the current call reached (in the child)


def _trip(name):
    _REFUSED.append(name)
    raise Refused(name)


def _tripwire_code(name):
    def template(*args, **kwargs):
        import sys

        sys.modules["alexnet_np.exercises.sandbox"]._trip("NAME")

    consts = tuple(name if c == "NAME" else c for c in template.__code__.co_consts)
    return template.__code__.replace(co_consts=consts)


def _tripwire_function(name):
    def tripped(*args, **kwargs):
        _trip(name)

    tripped.__name__ = name.rsplit(".", 1)[-1]
    return tripped


def _patch_function(f, name):
    if f.__closure__ is None:
        f.__code__ = _tripwire_code(name)
        return True
    return False


def _is_ours(obj, allowed):
    mod = getattr(obj, "__module__", None) or ""
    return mod.startswith("alexnet_np") and mod != __name__ and mod not in allowed


def install_tripwires(allowed=()):
    """Make every function, method and kernel of alexnet_np (outside ``allowed`` modules) refuse to run.

    Returns the set of ids of objects that could not be patched in place (numba dispatchers, closures),
    which :func:`_rebind` replaces wherever the student's globals refer to them.
    """
    replaced, done = {}, set()

    def qualified(obj):
        return f"{obj.__module__}.{getattr(obj, '__qualname__', getattr(obj, '__name__', '?'))}"

    for modname, mod in list(sys.modules.items()):
        if not modname.startswith("alexnet_np") or modname == __name__ or modname in allowed:
            continue
        for attr, value in list(vars(mod).items()):
            if not _is_ours(value, allowed):
                continue
            if id(value) in replaced:
                setattr(mod, attr, replaced[id(value)])
                continue
            if id(value) in done:
                continue
            done.add(id(value))
            if isinstance(value, types.FunctionType):
                if not _patch_function(value, qualified(value)):
                    replaced[id(value)] = _tripwire_function(qualified(value))
                    setattr(mod, attr, replaced[id(value)])
            elif isinstance(value, type):
                for meth, member in list(vars(value).items()):
                    target = member
                    if isinstance(member, (staticmethod, classmethod)):
                        target = member.__func__
                    elif isinstance(member, property):
                        target = member.fget
                    if isinstance(target, types.FunctionType) and id(target) not in done:
                        done.add(id(target))
                        _patch_function(target, f"{qualified(value)}.{meth}")
            elif hasattr(value, "py_func"):  # a numba dispatcher
                replaced[id(value)] = _tripwire_function(qualified(value))
                setattr(mod, attr, replaced[id(value)])
    return replaced


def _rebind(fn, replaced, depth=2, seen=None):
    """Replace, in the student's globals and closures, references to objects :func:`install_tripwires` swapped."""
    seen = set() if seen is None else seen
    if not isinstance(fn, types.FunctionType) or id(fn) in seen or depth < 0:
        return
    seen.add(id(fn))
    g = fn.__globals__
    if id(g) not in seen:
        seen.add(id(g))
        for key, value in list(g.items()):
            if id(value) in replaced:
                g[key] = replaced[id(value)]
            elif isinstance(value, types.FunctionType) and not _is_ours(value, ()):
                _rebind(value, replaced, depth - 1, seen)
    for cell in fn.__closure__ or ():
        try:
            value = cell.cell_contents
        except ValueError:
            continue
        if id(value) in replaced:
            cell.cell_contents = replaced[id(value)]
        else:
            _rebind(value, replaced, depth - 1, seen)


class _BlockImports:
    """A meta-path finder that refuses to import any alexnet_np module not yet loaded."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname.startswith("alexnet_np"):
            _trip(fullname + " (imported inside the graded function)")
        return None


def scrub():
    """Empty, in this (child) process, every expected value the grader's objects hold."""
    from .grader import Case, Check, GradeResult, TensorOutcome

    for obj in gc.get_objects():
        t = type(obj)
        if t is Check:
            obj.expected, obj.variants, obj.regions, obj.relations, obj.accept = None, [], {}, [], []
        elif t is TensorOutcome:
            obj.error = None
        elif t is Case:
            obj.checks = []
        elif t is GradeResult:
            obj.cases = []


def _child(conn, fn, allowed):
    scrub()
    replaced = install_tripwires(allowed)
    _rebind(fn, replaced)
    sys.meta_path.insert(0, _BlockImports())
    history = []  # (returned arrays, their snapshot) of earlier calls, to catch a shared output array
    while True:
        try:
            request = _recv(conn)
        except EOFError:
            return
        args, keep, strided = request
        if strided:
            args = [not_contiguous(a) for a in args]
        originals = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        out, err = io.StringIO(), io.StringIO()
        sys.stdout, sys.stderr = out, err
        _REFUSED.clear()
        status, value, message = "returned", None, ""
        try:
            with np.errstate(all="ignore"):
                value = fn(*args)
        except Refused:
            status = "refused"
        except NotImplementedError:
            status = "not implemented"
        except BaseException as e:  # noqa: BLE001 - SystemExit, KeyboardInterrupt, anything a student raises
            status, message = "raised", f"{type(e).__name__}: {e}"
        finally:
            sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        if _REFUSED and status != "refused":
            status = "refused"  # the student caught the tripwire's exception: still refused
        mutated = [
            i
            for i, (a, o) in enumerate(zip(args, originals))
            if isinstance(a, np.ndarray) and not np.array_equal(a, o, equal_nan=True)
        ]
        arrays = _arrays_in(value)
        aliased = _aliased(args, arrays)
        clobbered = any(not np.array_equal(a, snap, equal_nan=True) for a, snap in history)
        shared = any(np.may_share_memory(a, b) for a in arrays for b, _ in history)
        history += [(a, a.copy()) for a in arrays]
        printed = (out.getvalue() + err.getvalue())[:OUTPUT_LIMIT]
        reply = {
            "status": status,
            "message": message[:2000],
            "refused": sorted(set(_REFUSED)),
            "mutated": mutated,
            "clobbered": clobbered,
            "shared": shared,
            "aliased": aliased,
            "printed": printed,
        }
        try:
            _send(conn, (json.dumps(reply), value, [args[i] for i in keep]))
        except Exception as e:  # noqa: BLE001 - a value the format cannot carry
            reply.update(status="raised", message=f"returned something that cannot be read: {e}")
            _send(conn, (json.dumps(reply), None, []))


def _arrays_in(value):
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, (tuple, list)):
        return [a for v in value for a in _arrays_in(v)]
    return []


# ---- the parent side -------------------------------------------------------------------------------------


class CallResult:
    def __init__(self, status, value=None, message="", **info):
        self.status, self.value, self.message = status, value, message
        self.refused = info.get("refused", [])
        self.mutated = info.get("mutated", [])
        self.clobbered = info.get("clobbered", False)
        self.shared = info.get("shared", False)
        self.aliased = info.get("aliased", [])  # arguments a returned array shares memory with
        self.printed = info.get("printed", "")
        self.args_after = info.get("args_after", [])


class Sandbox:
    """A child process that calls ``fn`` on the inputs it is sent; one per :func:`grade`.

    ``time_limit``: seconds per call. ``allowed``: alexnet_np modules the student may call (``shapes``).
    ``isolate=False`` (or no ``fork``) runs in this process, with the same checks where they can be made.
    """

    def __init__(self, fn, time_limit=20.0, allowed=(), isolate=True):
        self.fn, self.time_limit, self.allowed = fn, time_limit, tuple(allowed)
        self.isolated = isolate and HAVE_FORK
        self.proc = self.conn = None
        self.forks = 0

    def _start(self):
        ctx = mp.get_context("fork")
        parent, child = ctx.Pipe()
        self.proc = ctx.Process(target=_child, args=(child, self.fn, self.allowed), daemon=True)
        self.proc.start()
        child.close()
        self.conn = parent
        self.forks += 1

    def call(self, args, keep=(), strided=False):
        """Call the function on ``args``; ``keep``: indices of arguments to send back (updated in place);
        ``strided``: the array arguments, same values, in memory that is not C-contiguous (:func:`not_contiguous`;
        made where the function runs, since a pickled array arrives contiguous)."""
        if not self.isolated:
            return self._call_here(args, keep, strided)
        if self.proc is None:
            self._start()
        try:
            _send(self.conn, (list(args), list(keep), strided))
            if not self.conn.poll(self.time_limit):
                self.close()
                return CallResult(
                    "timeout", message=f"did not return within {self.time_limit:g} s (an endless loop?)"
                )
            head, value, after = _recv(self.conn)
        except (EOFError, OSError, ValueError, json.JSONDecodeError):
            proc = self.proc
            self.close()
            code = proc.exitcode if proc is not None else None
            return CallResult(
                "died",
                message=f"the process running your function ended (exit code {code}): "
                "did it call sys.exit or os._exit, or crash?",
            )
        info = json.loads(head)
        return CallResult(info.pop("status"), value, info.pop("message"), args_after=after, **info)

    def _call_here(self, args, keep, strided=False):
        args = copy.deepcopy(list(args))  # the grader's own inputs stay untouched
        if strided:
            args = [not_contiguous(a) for a in args]
        originals = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        try:
            with np.errstate(all="ignore"):
                value = self.fn(*args)
        except NotImplementedError:
            return CallResult("not implemented")
        except Exception as e:  # noqa: BLE001
            return CallResult("raised", message=f"{type(e).__name__}: {e}")
        mutated = [
            i
            for i, (a, o) in enumerate(zip(args, originals))
            if isinstance(a, np.ndarray) and not np.array_equal(a, o, equal_nan=True)
        ]
        aliased = _aliased(args, _arrays_in(value))
        value = _copy_out(value)
        return CallResult(
            "returned", value, mutated=mutated, aliased=aliased, args_after=[np.copy(args[i]) for i in keep]
        )

    def close(self):
        if self.proc is not None:
            if self.proc.is_alive():
                self.proc.kill()
            self.proc.join(timeout=5)
            self.conn.close()
        self.proc = self.conn = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def not_contiguous(a):
    """``a`` with the same values in memory that is not C-contiguous: Fortran order where that differs (as a
    transposed array's), else every other element of a larger buffer (as a slice ``big[..., ::2]``); anything
    not an array, or an array with fewer than two elements, as it is."""
    if not isinstance(a, np.ndarray) or a.size < 2:
        return a
    f = np.asfortranarray(a)
    if not f.flags.c_contiguous:
        return f
    big = np.empty(a.shape[:-1] + (2 * a.shape[-1],), dtype=a.dtype)
    view = big[..., ::2]
    view[...] = a
    return view


def _aliased(args, arrays):
    """Indices of the array arguments that a returned array shares memory with (the input itself, or a view)."""
    return [
        i
        for i, a in enumerate(args)
        if isinstance(a, np.ndarray) and any(np.may_share_memory(out, a) for out in arrays)
    ]


def _copy_out(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (tuple, list)):
        return type(value)(_copy_out(v) for v in value)
    return value


def fork_cost(n=5):
    """Seconds to start a child (fork, scrub, tripwires) and make one call, averaged over ``n``."""
    t0 = time.perf_counter()
    for _ in range(n):
        with Sandbox(lambda: None) as box:
            box.call(())
    return (time.perf_counter() - t0) / n
