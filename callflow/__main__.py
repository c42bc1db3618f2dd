"""``python -m callflow``: the ``callflow`` command."""

import sys

from .cli import main

sys.exit(main())
