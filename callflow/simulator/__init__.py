"""The call simulator: a local Opentact that places calls against a flow and records what
the caller experiences.

* ``facade``: the :class:`~callflow.simulator.facade.Simulator`, what users call (they import
  it from :mod:`callflow.testing`);
* ``engine``: ``CallRun``, which runs the documents of one call; ``commands``: what each
  element does when it runs;
* ``fetching``: the requests of a call, with their limits and the secrets the trace hides;
  ``transport``: how they reach the target (an App in process, a URL, an XML file);
* ``inputs``: the caller's keys and each Dial's outcome, scripted or asked for;
* ``geography``: where the caller is, for ``Geo``; ``trace``: the events of a call;
* ``explore``: every reachable path of an App, walked with simulated calls, and the findings
  (``CF7xx``) and maps (text, JSON, Mermaid, dot, SVG) of ``callflow explore``;
* ``console``: the browser softphone that ``callflow serve --console`` mounts at ``/_console``
  in front of an App in development mode.

Dependencies run one way, cli -> simulator -> server -> dialect: the simulator reaches an
App through the server wing and reads documents with the dialect; it never imports the
command line.
"""
