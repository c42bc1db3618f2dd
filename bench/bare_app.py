"""The baseline of benchmark (c): a bare Starlette endpoint returning constant bytes (the
demo webhook's reply; see :mod:`bench.contenders`)."""

from __future__ import annotations

from .contenders import BODY as BODY
from .contenders import bare as app

__all__ = ["BODY", "app"]
