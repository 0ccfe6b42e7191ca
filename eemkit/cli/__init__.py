"""eemkit.cli: the Typer app (eemkit.cli.app) and the console script's entry point.

`main` lives here, not in eemkit.cli.app, so that Ctrl-C while the app's modules import (Typer, rich, numpy:
a few tenths of a second) also ends as "interrupted" and status 130, not a traceback.
"""

import sys


def main() -> None:
    """The `eemkit` console script and `python -m eemkit`."""
    try:
        from eemkit.cli.app import run
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    sys.exit(run(sys.argv[1:]))
