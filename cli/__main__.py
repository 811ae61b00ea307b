"""``python -m initspec.cli ...`` = the ``initspec`` command."""

import sys

from initspec.cli import main

sys.exit(main())
