"""The command line tells a user's mistake (one line, exit 2) from a bug in alexnet_np (a traceback)."""

from __future__ import annotations

import pytest

import alexnet_np as an
from alexnet_np.errors import BadArgument, BadFile, UserError
from alexnet_np.tools import cli


def test_a_bug_keeps_its_traceback(monkeypatch, capsys):
    """A ValueError that is not a UserError is a bug: the CLI lets it through with its traceback."""

    def broken(args):
        raise ValueError("an internal invariant broke")

    monkeypatch.setattr(cli, "cmd_summary", broken)
    with pytest.raises(ValueError, match="internal invariant"):
        cli.main(["summary"])


def test_a_users_mistake_is_one_line_with_exit_2(tmp_path, capsys):
    bad = tmp_path / "w.npz"
    bad.write_bytes(b"PK\x03\x04 not really a zip\n\nwith lines")
    assert cli.main(["predict", str(tmp_path / "x.jpg"), "--weights", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(bad) in err and "Traceback" not in err


@pytest.mark.parametrize(
    "call, cls",
    [
        (lambda: an.AlexNet("nope"), BadArgument),
        (lambda: an.Preprocessing(input_size=0), BadArgument),
        (lambda: an.AlexNet("mini", num_classes=10).summary((1, 3, 30, 30)), UserError),
    ],
)
def test_library_refusals_are_user_errors(call, cls):
    with pytest.raises(cls):
        call()


def test_a_missing_file_is_a_bad_file(tmp_path):
    from alexnet_np.io import load_npz

    with pytest.raises(BadFile, match="no such file"):
        load_npz(tmp_path / "none.npz")
