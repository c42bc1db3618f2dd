"""The dialect wing: the Opentact XML language itself, with no server in it.

* :mod:`~callflow.dialect.elements` the DSL classes, one per XML element, by family;
  :mod:`~callflow.dialect.choices` the closed value sets (``Literal`` types) and
  :mod:`~callflow.dialect.values` the value checks; :mod:`~callflow.dialect.nesting` which
  element holds which (spec §4); :mod:`~callflow.dialect.slots` placeholders for prepared
  documents.
* Writing XML: :mod:`~callflow.dialect.serialising` (escaping and the code each element
  class writes itself with, compiled visibly by :mod:`~callflow.dialect.codegen`),
  :mod:`~callflow.dialect.rendering` (a tree to bytes), :mod:`~callflow.dialect.prepared`
  (a constant structure rendered once, values filled in per call).
* Reading XML: :mod:`~callflow.dialect.reader` (hardened against hostile input),
  :mod:`~callflow.dialect.xsd` (the shipped schemas), :mod:`~callflow.dialect.loader` (a
  parsed tree to DSL objects), :mod:`~callflow.dialect.validation`,
  :mod:`~callflow.dialect.parsing`, :mod:`~callflow.dialect.linting` and what they report,
  :mod:`~callflow.dialect.problems`; :mod:`~callflow.dialect.phone_numbers` for numbers.

The wing depends on nothing else in callflow but :mod:`callflow.exceptions` and
:mod:`callflow.types`: it never imports the server, the simulator, the command line or
Starlette (nor uvicorn, Jinja2, Redis or an HTTP client), so a program that only builds or
checks documents loads none of them. An import-linter contract in pyproject.toml enforces
it (``lint-imports``). Users import from :mod:`callflow`; this package re-exports nothing.
Rulings (D1-D21) and questions (§7 #N) are in docs/dialect.md.
"""
