"""Run the ``jaxinit`` command as ``python -m jaxinit``."""

import sys

from jaxinit.cli import main

sys.exit(main())
