"""`python -m hfdistill.cli`: the `hfdistill` command, for launchers that start a module (`accelerate launch -m`)."""

import sys

from hfdistill.cli import main

sys.exit(main())
