"""``python -m harness.cli``: the same as the ``dmct`` command (tests and the nightly pipeline use it)."""

import sys

from harness.cli import main

sys.exit(main())
