"""eemkit.data"""

import os

# Where commands look for a dataset when none is given: $EEMKIT_DATA, else the project's shared FER+ copy.
DEFAULT_DATA = os.environ.get("EEMKIT_DATA", "../shared/data/ferplus")
