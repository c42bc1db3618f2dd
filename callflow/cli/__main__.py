"""``python -m callflow.cli``: the ``callflow`` command."""

import sys

from callflow.cli.command import main

sys.exit(main())
