"""Serve the bare Starlette endpoint under uvicorn with a chosen HTTP protocol.

``python -m bench.head_bound_server PORT httptools|bounded``: the protocol benchmark runs one
of each, to measure what bounding request heads (callflow.server.protocol) costs per request.
"""

from __future__ import annotations

import sys

import uvicorn

from callflow.server.protocol import BoundedHttpToolsProtocol

from .bare_app import app


def main(argv: list[str]) -> None:
    port, protocol = int(argv[0]), argv[1]
    http = BoundedHttpToolsProtocol if protocol == "bounded" else "httptools"
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        http=http,
        access_log=False,
        log_level="warning",
        proxy_headers=False,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
