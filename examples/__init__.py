"""Complete call flows to copy: each module holds one ``App``, served as ``examples.NAME:app``.

Run them from the repository root (``callflow serve examples.restaurant:app``); the README's
"Examples" table says what each one shows, and ``tests/examples/`` tests every branch.
"""
