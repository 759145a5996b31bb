"""``python -m mailwire``: the same as the ``mailwire`` command."""

import sys

from mailwire.cli import main

sys.exit(main())
