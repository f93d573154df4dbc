"""The project's error classes: a user's mistake, told in one line, against a bug, shown with its traceback.

A user's mistake raises a subclass of :class:`UserError`, which is a ``ValueError`` (code that catches
``ValueError`` keeps working):

- :class:`BadArgument`: an argument, option or setting that cannot be right (``lr=-0.1``, a batch size of 2.5,
  an unknown algorithm name), named with what was expected and what was received;
- :class:`BadInput`: an array a layer or the loss cannot take (dtype, shape, values), naming the layer;
- :class:`BadFile`: a file that is not what it claims or asks for more than allowed (a weights file that
  declares sizes its arrays do not have, an image too large, metadata that cannot be read), naming the file;
- :class:`RefusedOverwrite`: a command would replace or delete something it did not make in this run; the
  message names the path and the ``--force`` that allows it.

The command line prints a ``UserError`` (and an ``OSError``: a path that cannot be read or written) in one line
and exits with status 2. Any other exception is a bug in alexnet_np and keeps its traceback.
"""


class UserError(ValueError):
    """A user's mistake: the command line prints it in one line (exit status 2), never with a traceback."""


class BadArgument(UserError):
    """An argument, option or setting that cannot be right."""


class BadInput(UserError):
    """An array a layer, a model or the loss cannot take."""


class BadFile(UserError):
    """A file that is malformed, hostile, or asks for more memory than allowed."""


class RefusedOverwrite(UserError):
    """A command would replace or delete a path it did not create in this run, and ``--force`` was not given."""


__all__ = ["UserError", "BadArgument", "BadInput", "BadFile", "RefusedOverwrite"]
