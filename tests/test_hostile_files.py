"""Hostile files: small files that would take gigabytes, files that never end, formats we do not read.

Every file is made here, in tmp_path. The memory test runs the load in a fresh interpreter and reads
its peak resident size (``resource.getrusage``), so nothing else in the test session counts.
"""

import io
import os
import subprocess
import sys
import textwrap
import threading
import zipfile

import numpy as np
import pytest
from PIL import Image

from alexnet_np.io import load_npz, save_npz_atomic
from alexnet_np.training.data import DataError, load_image_folder, read_image

# ---- helpers ---------------------------------------------------------------------------------


def _npy_header(shape, descr="<f4"):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def _npy(array):
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def _write_zip(path, members, compression=zipfile.ZIP_STORED):
    """A zip of ``{name: bytes}``, written as given, whatever the bytes claim to be."""
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def _claim_sizes(path, file_size):
    """Rewrite every member's uncompressed size in the zip's central directory (what zipfile trusts)."""
    data = bytearray(path.read_bytes())
    at = data.find(b"PK\x01\x02")
    while at != -1:
        data[at + 24 : at + 28] = file_size.to_bytes(4, "little")
        at = data.find(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(data))


def _peak_growth_mib(code, *args):
    """Run ``code`` in a fresh Python after numpy and alexnet_np are imported -> (stdout, MiB the peak RSS
    rose by while ``code`` ran)."""
    script = textwrap.dedent(
        """
        import resource, sys
        import numpy as np
        import alexnet_np
        from alexnet_np.io import load_npz
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        """
    ) + textwrap.dedent(code)
    script += "\nprint('GROWTH', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)\n"
    out = subprocess.run(
        [sys.executable, "-c", script, *map(str, args)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    growth = int(out.stdout.rsplit("GROWTH", 1)[1])
    return out.stdout, growth / (2**20 if sys.platform == "darwin" else 2**10)  # bytes on macOS, KiB on Linux


def _returns_within(seconds, fn, fifo):
    """``fn()``, failing the test if it is still blocked after ``seconds`` (reading ``fifo``, which is then
    opened for writing and closed, so that the blocked reader sees end-of-file and the thread ends)."""
    result = {}

    def run():
        try:
            result["value"] = fn()
        except BaseException as err:  # handed to the test's thread below
            result["error"] = err

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        try:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass
        thread.join(5)
        pytest.fail(f"still blocked on the named pipe {fifo} after {seconds} s")
    if "error" in result:
        raise result["error"]
    return result.get("value")


# ---- A1: .npz files --------------------------------------------------------------------------


def test_npz_bomb_is_refused_before_anything_is_decompressed(tmp_path):
    """128 MiB of zeros deflate to well under 1 MB; with max_bytes=64 MiB the load fails from the zip
    directory alone, and the process's peak memory does not move."""
    path = tmp_path / "bomb.npz"
    n = 32 * 2**20  # float32 -> 128 MiB
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("weights.npy", "w") as f:
            f.write(_npy_header((n,)))
            chunk = bytes(8 * 2**20)
            for _ in range(n * 4 // len(chunk)):
                f.write(chunk)
    assert path.stat().st_size < 2**20
    out, growth = _peak_growth_mib(
        """
        try:
            load_npz(sys.argv[1], max_bytes=64 * 2**20)
            print("LOADED")
        except ValueError as err:
            print("REFUSED", err)
        """,
        path,
    )
    assert "REFUSED" in out and "bomb.npz" in out and "max_bytes=67,108,864" in out, out
    assert growth < 16, f"peak memory rose by {growth:.0f} MiB"


def test_the_default_limit_adds_up_every_member_from_the_zip_directory(tmp_path):
    """Two members whose zip entries claim 3 GiB each: 6 GiB is over the default 4 GiB, refused before
    either is opened (the bodies are tiny: only the directory says 3 GiB)."""
    path = tmp_path / "claims.npz"
    _write_zip(path, {"a.npy": _npy(np.zeros(4, np.float32)), "b.npy": _npy(np.zeros(4, np.float32))})
    _claim_sizes(path, 3 * 2**30)
    with pytest.raises(
        ValueError,
        match=r"claims\.npz: the arrays unpack to 6,442,450,944 bytes, more than max_bytes=4,294,967,296",
    ):
        load_npz(path)


def test_a_header_that_disagrees_with_the_zip_directory_is_corrupt(tmp_path):
    """The .npy header declares 2**30 float32 (4 GiB) but the member holds 1 KiB: corrupt, and nothing of
    4 GiB is allocated to find that out."""
    path = tmp_path / "liar.npz"
    _write_zip(path, {"w.npy": _npy_header((2**30,)) + bytes(1024)})
    with pytest.raises(ValueError, match=r"liar\.npz: member 'w\.npy' is corrupt: its header declares"):
        load_npz(path, max_bytes=2**20)
    with pytest.raises(ValueError, match=r"liar\.npz: member 'w\.npy' is corrupt: its header declares"):
        load_npz(path)


@pytest.mark.parametrize(
    "members,match",
    [
        ({"notes.txt": b"raw bytes"}, "'notes.txt' is not a .npy array"),
        ({"w.npy": _npy(np.zeros(2)), "folder/": b""}, "'folder/' is not a .npy array"),
        ({"__meta__.npy": _npy(np.array(1.5))}, r"'__meta__\.npy' has dtype float64: not a 0-d unicode"),
        ({"__meta__.npy": _npy(np.array(['{"a": 1}']))}, "not a 0-d unicode array"),
        ({"__meta__.npy": _npy(np.array("[1, 2]"))}, "metadata must be a JSON object, got list"),
        ({"__meta__.npy": _npy(np.array("{not json"))}, "unreadable metadata"),
    ],
)
def test_raw_members_and_malformed_metadata_give_one_value_error(tmp_path, members, match):
    path = tmp_path / "odd.npz"
    _write_zip(path, members)
    with pytest.raises(ValueError, match=match) as err:
        load_npz(path)
    assert str(err.value).startswith(str(path)) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    "array",
    [
        np.zeros(3, np.complex64),
        np.array(["abc"]),
        np.array([b"abc"]),
        np.zeros(2, [("x", "<f4"), ("y", "<i4")]),
        np.zeros(2, "datetime64[s]"),
        np.zeros(2, np.longdouble),
    ],
    ids=["complex", "unicode", "bytes", "structured", "datetime", "longdouble"],
)
def test_only_numeric_arrays_are_loaded(tmp_path, array):
    path = tmp_path / "typed.npz"
    np.savez(path, x=array)
    with pytest.raises(ValueError, match=r"typed\.npz: member 'x\.npy' has dtype"):
        load_npz(path)


def test_numeric_arrays_load_and_big_endian_comes_back_native(tmp_path):
    arrays = {
        "b": np.array([True, False]),
        "i8": np.arange(3, dtype=np.int8),
        "u16": np.arange(3, dtype=np.uint16),
        "f16": np.linspace(0, 1, 3, dtype=np.float16),
        "f64": np.eye(3),
        "fortran": np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)),
        "big": np.arange(4, dtype=">f4"),
    }
    path = tmp_path / "ok.npz"
    save_npz_atomic(path, arrays, meta={"note": "fine"})
    loaded, meta = load_npz(path)
    assert meta == {"note": "fine"} and list(loaded) == list(arrays)
    for k, a in arrays.items():
        np.testing.assert_array_equal(loaded[k], a)
        assert loaded[k].dtype.isnative and loaded[k].dtype == a.dtype.newbyteorder("=")


def test_a_named_pipe_is_never_opened_as_npz(tmp_path):
    fifo = tmp_path / "weights.npz"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match=r"weights\.npz: a named pipe \(FIFO\), not a regular file"):
        _returns_within(5, lambda: load_npz(fifo), fifo)


# ---- A2: images that decode small and resize huge ----------------------------------------------


def test_an_extreme_aspect_ratio_is_refused_from_the_header(tmp_path):
    """A 100000×16 PNG is 1.6 KB and 1.6 M pixels, but its shorter side resized to 256 makes
    1,600,000×256 = 409.6 M pixels (4 GB peak before this check)."""
    path = tmp_path / "strip.png"
    Image.fromarray(np.zeros((16, 100_000), np.uint8)).save(path)
    assert path.stat().st_size < 5000
    with pytest.raises(DataError, match=r"strip\.png: 100000×16 \(aspect ratio 6,250:1\) resized to 256"):
        read_image(path)
    assert read_image(path, resize=None).shape == (16, 100_000, 3)  # without a resize to come, it is small
    with pytest.raises(DataError, match="resized to 64"):
        read_image(path, max_pixels=5_000_000, resize=64)


def test_ordinary_panoramas_still_pass(tmp_path):
    path = tmp_path / "pano.png"
    Image.fromarray(np.zeros((100, 4000, 3), np.uint8)).save(path)  # 40:1 -> 10240×256
    assert read_image(path).shape == (100, 4000, 3)


# ---- B: named pipes and other non-files ----------------------------------------------------------


def test_a_named_pipe_is_refused_as_an_image(tmp_path):
    fifo = tmp_path / "photo.jpg"
    os.mkfifo(fifo)
    with pytest.raises(DataError, match=r"photo\.jpg: a named pipe \(FIFO\), not a regular file"):
        _returns_within(5, lambda: read_image(fifo), fifo)


def _two_classes(root):
    for cls in ("a", "b"):
        (root / cls).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(np.full((20, 20, 3), 40 * i, np.uint8)).save(root / cls / f"{i}.png")


def test_a_class_folder_with_a_named_pipe_is_refused_before_any_read(tmp_path):
    """Refused, not skipped: leaving out what the folder holds under an image's name would change the data
    set without a word. A folder named like an image is refused the same way."""
    _two_classes(tmp_path)
    fifo = tmp_path / "b" / "pipe.jpg"
    os.mkfifo(fifo)
    (tmp_path / "b" / "album.png").mkdir()
    with pytest.raises(DataError) as err:
        _returns_within(10, lambda: load_image_folder(str(tmp_path), size=16, resize=16), fifo)
    msg = str(err.value)
    assert "pipe.jpg (a named pipe (FIFO), not a regular file)" in msg, msg
    assert "album.png (a folder, not a regular file)" in msg, msg


def test_hidden_files_in_a_class_folder_are_not_read(tmp_path):
    """macOS leaves "._name.jpg" metadata files beside copied photographs: not images."""
    _two_classes(tmp_path)
    (tmp_path / "a" / "._0.png").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
    train, val = load_image_folder(str(tmp_path), size=16, resize=16, val_fraction=0.0)
    assert len(train) + len(val) == 4


# ---- C: formats, orientation, floating-point pixels -------------------------------------------------


def test_postscript_named_jpg_never_reaches_ghostscript(tmp_path, monkeypatch):
    from PIL import EpsImagePlugin

    calls = []

    def ghostscript(*args, **kwargs):
        calls.append(args)
        raise AssertionError("Ghostscript was run on an input file")

    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", ghostscript)
    path = tmp_path / "photo.jpg"
    path.write_text("%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 32 32\nnewpath 0 0 moveto showpage\n%%EOF\n")
    with pytest.raises(DataError, match=r"photo\.jpg: not a JPEG, PNG, BMP, GIF, WEBP, TIFF image"):
        read_image(path)
    assert calls == []


def test_exif_orientation_is_applied(tmp_path):
    """Stored 20 wide × 10 high, red left and blue right, with orientation 6 ("rotate 90° clockwise to
    view"): it reads 10 wide × 20 high, red on top."""
    pixels = np.zeros((10, 20, 3), np.uint8)
    pixels[:, :10] = (255, 0, 0)
    pixels[:, 10:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "phone.jpg"
    Image.fromarray(pixels).save(path, exif=exif, quality=95)
    image = read_image(path)
    assert image.shape == (20, 10, 3)
    assert image[2, 5, 0] > 200 and image[2, 5, 2] < 50  # top: red
    assert image[17, 5, 2] > 200 and image[17, 5, 0] < 50  # bottom: blue


def test_float_tiff_is_scaled_by_its_own_range(tmp_path):
    values = np.linspace(-0.5, 0.5, 200, dtype=np.float32).reshape(10, 20)  # not black
    path = tmp_path / "depth.tif"
    Image.fromarray(values, mode="F").save(path)
    image = read_image(path)
    assert image.shape == (10, 20, 3) and image.dtype == np.uint8
    assert image.min() == 0 and image.max() == 255
    np.testing.assert_array_equal(
        image[..., 0], np.round((values.astype(np.float64) + 0.5) * 255).astype(np.uint8)
    )
    Image.fromarray(np.full((4, 4), 7.0, np.float32), mode="F").save(path)
    assert read_image(path).max() == 0  # a constant image has no range: 0
    values[3, 3] = np.nan
    Image.fromarray(values, mode="F").save(path)
    with pytest.raises(DataError, match=r"depth\.tif: its floating-point pixels include NaN or inf"):
        read_image(path)
