"""The XML Schemas in callflow/schema against the documents in tests/data/xsd.

* ``strict-valid/``: canonical documents, valid in both ``strict.xsd`` and ``compat.xsd``;
* ``compat-only/``: one legacy or variant form each, valid in ``compat.xsd`` only;
* ``invalid/``: invalid in both schemas, by an XSD-level rule (rules checked in Python by
  ``callflow.dialect.validation`` have no place here).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from lxml import etree

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "callflow" / "dialect" / "schema"
DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "xsd"
XS = "{http://www.w3.org/2001/XMLSchema}"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
FOLDERS = ("strict-valid", "compat-only", "invalid")

Declaration = tuple[str, str | None]
"""An element name and one of its attribute names, or None for the element itself."""


@cache
def schema_tree(name: str) -> etree._ElementTree:
    """The parsed schema document ``callflow/dialect/schema/<name>.xsd``."""
    return etree.parse(str(SCHEMA_DIR / f"{name}.xsd"))


@cache
def schema(name: str) -> etree.XMLSchema:
    """The compiled schema ``callflow/dialect/schema/<name>.xsd``."""
    return etree.XMLSchema(schema_tree(name))


def data_files(folder: str) -> list[Path]:
    """The test documents in ``tests/data/xsd/<folder>``, sorted by name."""
    return sorted((DATA_DIR / folder).glob("*.xml"))


def documents(folder: str) -> list[pytest.ParameterSet]:
    """The test documents in ``folder`` as parameters named after the file."""
    return [pytest.param(path, id=path.name) for path in data_files(folder)]


def errors(name: str, path: Path) -> list[str]:
    """Validate ``path`` against schema ``name``; return the error messages (none if valid)."""
    checker = schema(name)
    if checker.validate(etree.parse(str(path))):
        return []
    return str(checker.error_log).splitlines()


@pytest.mark.parametrize("path", documents("strict-valid"))
def test_strict_valid_document_is_valid_in_both_schemas(path: Path) -> None:
    assert errors("strict", path) == []
    assert errors("compat", path) == []


@pytest.mark.parametrize("path", documents("compat-only"))
def test_compat_only_document_is_valid_in_compat_only(path: Path) -> None:
    assert errors("compat", path) == []
    assert errors("strict", path) != []


@pytest.mark.parametrize("path", documents("invalid"))
def test_invalid_document_is_invalid_in_both_schemas(path: Path) -> None:
    assert errors("strict", path) != []
    assert errors("compat", path) != []


@pytest.mark.parametrize("name", ["strict", "compat"])
def test_schema_has_no_target_namespace_and_only_response_as_root(name: str) -> None:
    root = schema_tree(name).getroot()
    assert root.get("targetNamespace") is None
    assert [element.get("name") for element in root.findall(f"{XS}element")] == ["Response"]


@pytest.mark.parametrize("folder", FOLDERS)
def test_data_folder_is_populated(folder: str) -> None:
    minimum = {"strict-valid": 25, "compat-only": 12, "invalid": 20}[folder]
    assert len(data_files(folder)) >= minimum


@pytest.mark.parametrize("path", [param for folder in FOLDERS for param in documents(folder)])
def test_data_file_starts_with_declaration_and_one_line_comment(path: Path) -> None:
    first, second, *_ = path.read_text(encoding="utf-8").splitlines()
    assert first == XML_DECLARATION
    assert second.startswith("<!-- ")
    assert second.endswith(" -->")


def _attributes(types: dict[str, etree._Element], type_name: str) -> set[str]:
    """Names of the attributes declared by complexType ``type_name`` and its base types."""
    definition = types.get(type_name)
    if definition is None:  # a simple type: text only, no attributes
        return set()
    names = {str(attribute.get("name")) for attribute in definition.iter(f"{XS}attribute")}
    for extension in definition.iter(f"{XS}extension"):
        names |= _attributes(types, str(extension.get("base")))
    return names


def declarations(name: str) -> set[Declaration]:
    """Every element, and every element's attribute, that schema ``name`` declares."""
    root = schema_tree(name).getroot()
    types = {str(ct.get("name")): ct for ct in root.iter(f"{XS}complexType")}
    found: set[Declaration] = set()
    for element in root.iter(f"{XS}element"):
        element_name = str(element.get("name"))
        found.add((element_name, None))
        for attribute in _attributes(types, str(element.get("type"))):
            found.add((element_name, attribute))
    return found


def used(folder: str) -> set[Declaration]:
    """Every element, and every element's attribute, that the documents in ``folder`` use."""
    found: set[Declaration] = set()
    for path in data_files(folder):
        for element in etree.parse(str(path)).getroot().iter():
            if not isinstance(element.tag, str):  # comments, processing instructions
                continue
            found.add((element.tag, None))
            for attribute in element.attrib:
                found.add((element.tag, str(attribute)))
    return found


def test_strict_valid_documents_use_every_canonical_element_and_attribute() -> None:
    assert declarations("strict") - used("strict-valid") == set()


def test_compat_only_documents_use_every_legacy_element_and_attribute() -> None:
    legacy = declarations("compat") - declarations("strict")
    assert legacy
    assert legacy - used("compat-only") == set()


# -- what validation relies on: the XSD checks nesting and text as the builder would ----------


def content_models(name: str) -> dict[str, tuple[bool, set[str]]]:
    """Element name -> (whether it may hold text other than white space, the names of the
    children it may hold), over every declaration of that name in schema ``name``."""
    root = schema_tree(name).getroot()
    types = {str(ct.get("name")): ct for ct in root.iter(f"{XS}complexType")}
    groups = {str(g.get("name")): g for g in root.findall(f"{XS}group")}

    def children(node: etree._Element) -> set[str]:
        found: set[str] = set()
        for item in node.iter(f"{XS}element", f"{XS}group", f"{XS}extension"):
            if item.tag == f"{XS}element":
                found.add(str(item.get("name")))
            elif item.tag == f"{XS}group" and item.get("ref"):
                found |= children(groups[str(item.get("ref"))])
            elif item.tag == f"{XS}extension" and item.get("base") in types:
                found |= children(types[str(item.get("base"))])
        return found

    def text(type_name: str) -> bool:
        kind = types.get(type_name)
        if kind is None:
            return True  # a simple type: text only
        if kind.get("mixed") == "true" or kind.find(f"{XS}simpleContent") is not None:
            return True
        return any(
            text(str(extension.get("base")))
            for extension in kind.iter(f"{XS}extension")
            if extension.get("base") in types
        )

    models: dict[str, tuple[bool, set[str]]] = {}
    for element in root.iter(f"{XS}element"):
        element_name, type_name = str(element.get("name")), str(element.get("type"))
        kind = types.get(type_name)
        holds = children(kind) if kind is not None else set()
        may, before = models.get(element_name, (False, set()))
        models[element_name] = (may or text(type_name), before | holds)
    return models


@pytest.mark.parametrize("name", ["strict", "compat"])
def test_the_schema_checks_what_may_nest_where_as_the_builder_does(name: str) -> None:
    # A document the XSD finds valid is not checked for nesting again (issue 12): every
    # child the XSD allows, the builder allows (a sibling Error handler in a plain block,
    # and in compat a lower-case callback where Callback may stand).
    from callflow.dialect import nesting

    models = content_models(name)
    for element, (_, holds) in models.items():
        if element == "callback":
            assert not holds
            continue
        allowed = set(nesting.ALLOWED[element])
        if element in nesting.PLAIN_BLOCKS:
            allowed.add("Error")
        if name == "compat" and "Callback" in allowed:
            allowed.add("callback")
        if name == "strict" and element == "Gather":
            allowed.discard("Switch")
        assert holds <= allowed, (element, holds - allowed)


@pytest.mark.parametrize("name", ["strict", "compat"])
def test_the_schema_allows_text_only_where_the_builder_reads_it(name: str) -> None:
    # Nor is text looked for in elements the XSD lets hold none: exactly those without a
    # content field.
    from callflow.dialect.loader import CLASSES

    for element, (may_hold_text, _) in content_models(name).items():
        if element == "callback":
            continue  # its text is its URL
        assert may_hold_text == (CLASSES[element].content is not None), element
