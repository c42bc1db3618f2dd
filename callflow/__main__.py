"""``python -m callflow``: the ``callflow`` command."""

import sys

from callflow.cli.command import main

sys.exit(main())
