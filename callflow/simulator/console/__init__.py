"""``callflow serve --console``: a softphone in the browser that places simulated calls
against the App being served, with the real simulator behind it.

* ``app``: :class:`~callflow.simulator.console.app.Console`, the ASGI application that
  serves the page and its JSON API at ``/_console`` and every other request with the App;
* ``options``: what the page asks for when it places a call, checked;
* ``calls``: one console call, run by the simulator in a worker thread, bounded in time;
* ``switchboard``: the console's calls by id, bounded in number, hung up at shutdown;
* ``documents``: what the page shows of each document a call fetched;
* ``callmap``: the explore map of the App, drawn as SVG;
* ``static/``: the page itself, plain HTML, CSS and JavaScript (no build, works offline).

Development mode only: a production App is refused.
"""

from callflow.simulator.console.app import CONSOLE_PATH as CONSOLE_PATH
from callflow.simulator.console.app import Console as Console

__all__ = ["CONSOLE_PATH", "Console"]
