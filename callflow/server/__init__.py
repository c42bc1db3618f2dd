"""The server wing: :class:`~callflow.App` and everything a request to it touches.

``app`` holds the App and what is registered on it (``routing``: flows and routers);
``dispatch`` is its ASGI entry (edge checks, endpoints, access log, ``metrics``) and
``running`` runs one flow within its time budget, with its ``sessions`` and the fallback
document. A request is read by ``request`` into a ``context.CallContext``; ``settings``,
``access``, ``forwarded``, ``state`` (signed tokens), ``urls``, ``templates``, ``events``,
``threads``, ``logs`` and ``protocol`` (``callflow serve``'s HTTP/1.1) each hold one piece.

The wing depends on :mod:`callflow.dialect` (the XML language) and never the other way; the
simulator and the command line build on it (cli -> simulator -> server -> dialect, kept so
by the import-linter contract in ``pyproject.toml``). Users import from :mod:`callflow`.
"""
