"""eemkit.cli: the Typer app (eemkit.cli.app) and the console script's entry point.

`main` lives here, not in eemkit.cli.app, so that Ctrl-C while the app's modules import (Typer, rich, numpy:
a few tenths of a second) also ends as "interrupted" and status 130, not a traceback.
"""

import sys


def _reopen_closed_std_fds() -> None:
    """A standard stream started closed (`>&-`) leaves its fd free: the next file opened (a --csv temp file)
    would get fd 1 and receive what C libraries print. Hold /dev/null there instead."""
    import os

    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            try:
                os.open(os.devnull, os.O_RDWR if fd == 0 else os.O_WRONLY)  # the lowest free fd: this one
            except OSError:
                return


def main() -> None:
    """The `eemkit` console script and `python -m eemkit`."""
    _reopen_closed_std_fds()
    try:
        from eemkit.cli.app import run
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    sys.exit(run(sys.argv[1:]))
