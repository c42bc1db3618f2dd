"""Jinja2 XML templates (autoescaped), validated before they are sent."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from callflow.dialect.rendering import render
from callflow.dialect.validation import check
from callflow.exceptions import InvalidDocument, TemplateError


@dataclass(frozen=True, slots=True)
class Rendered:
    """A document rendered from a template, validated and in canonical form; a flow may
    return it."""

    body: bytes
    template: str


class Templates:
    """Load templates from ``directory``; render them into validated :class:`Rendered`.

    Autoescape is on for every template, so ``{{ call.meta.name }}`` can never inject XML.
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(self.directory)),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
        )

    def render(self, name: str, /, **context: Any) -> Rendered:
        """Render ``name`` and validate it; raise :class:`TemplateError` when it fails."""
        try:
            text = self.environment.get_template(name).render(**context)
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(f"template {name!r} not found in {self.directory}") from exc
        except jinja2.TemplateError as exc:
            raise TemplateError(f"template {name!r} failed to render: {exc}") from exc
        problems, document, _ = check(text.encode("utf-8"))
        if document is None:
            invalid = InvalidDocument(problems)
            raise TemplateError(
                f"template {name!r} rendered an invalid document: {invalid.summary}"
            ) from invalid
        # Sent in canonical form (with the declaration, legacy forms normalised, D1).
        return Rendered(render(document), name)
