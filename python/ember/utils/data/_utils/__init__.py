"""Helpers of the DataLoader: collation, fetching, worker processes, shared-memory transport."""
import atexit
import sys
import traceback

IS_WINDOWS = sys.platform == "win32"

# Seconds between checks that the other side of a worker connection is still alive.
MP_STATUS_CHECK_INTERVAL = 5.0

# Set at interpreter exit (after live worker pools are shut down) so that iterator finalizers
# running during teardown do not touch half-destroyed modules.
python_exit_status = False


def _set_python_exit_flag():
    global python_exit_status
    python_exit_status = True


atexit.register(_set_python_exit_flag)


class KeyErrorMessage(str):
    """A str whose repr is itself, so a re-raised KeyError prints its multi-line message as is."""

    __slots__ = ()

    def __repr__(self):
        return self


class ExceptionWrapper:
    """An exception caught in another process or thread, with its formatted traceback, to re-raise
    in the main process (the message starts "Caught <Type> <where>.\\nOriginal Traceback ...")."""

    def __init__(self, exc_info=None, where="in background"):
        if exc_info is None:
            exc_info = sys.exc_info()
        self.exc_type = exc_info[0]
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self):
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            msg = KeyErrorMessage(msg)
        elif getattr(self.exc_type, "message", None):
            raise self.exc_type(message=msg)
        try:
            exception = self.exc_type(msg)
        except Exception:
            # An exception type whose constructor wants other arguments.
            raise RuntimeError(msg) from None
        raise exception


from . import collate, fetch, shared, worker  # noqa: E402,F401
