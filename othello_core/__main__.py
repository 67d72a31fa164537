"""``python -m othello_core COMMAND``: the command line of ``othello_core.cli.main``."""

import sys

from othello_core.cli.main import main

sys.exit(main())
