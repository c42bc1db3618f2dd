"""Generated code is visible (style guide §14b): every element class's ``__init__`` and every
prepared document's renderer is registered with linecache under a descriptive name, so
tracebacks show the generated line and ``inspect.getsource`` works; the generated code reads
like hand-written code (variables named after the fields), keeps the declared signature,
docstring and annotations, and is compiled when the class is defined, by modules that import
one way."""

from __future__ import annotations

import ast
import graphlib
import inspect
import linecache
import traceback
from pathlib import Path
from typing import Any

import pytest

import callflow
from callflow import (
    Element,
    Gather,
    Hangup,
    InvalidAttributeError,
    Response,
    Say,
    Slot,
    To,
    prepare,
)
from callflow.dialect import values as checks
from callflow.dialect.codegen import compile_function
from callflow.dialect.elements.base import Field

ELEMENT_CLASSES = sorted(
    (
        cls
        for cls in vars(callflow).values()
        if isinstance(cls, type) and issubclass(cls, Element) and cls is not Element
    ),
    key=lambda cls: cls.xml_tag,
)


def test_every_element_class_is_found() -> None:
    assert len(ELEMENT_CLASSES) == 28


@pytest.mark.parametrize("cls", ELEMENT_CLASSES, ids=lambda cls: cls.xml_tag)
def test_every_init_is_registered_with_linecache(cls: type[Element]) -> None:
    init = cls.__dict__["__init__"]
    code = init.__code__
    assert code.co_filename == f"<callflow generated __init__ of {cls.__qualname__}>"
    lines = linecache.getlines(code.co_filename)
    assert lines and lines[0].startswith("def __init__(self")
    assert inspect.getsource(init) == "".join(lines)
    assert init.__qualname__ == code.co_qualname == f"{cls.__qualname__}.__init__"
    assert init.__module__ == cls.__module__


def _declared(cls: type[Element]) -> Any:
    """The class's ``__init__`` as its module declares it (the signature; the body is ``...``)."""
    tree = ast.parse(inspect.getsource(inspect.getmodule(cls)))  # type: ignore[arg-type]
    body = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls.__name__)
    return next(n for n in body.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")


@pytest.mark.parametrize("cls", ELEMENT_CLASSES, ids=lambda cls: cls.xml_tag)
def test_the_generated_init_keeps_the_declared_signature(cls: type[Element]) -> None:
    declared = _declared(cls)
    assert declared.body[-1].value.value is Ellipsis  # the body is generated
    init = cls.__dict__["__init__"]
    returns = f" -> {ast.unparse(declared.returns)}" if declared.returns else ""
    source = f"def f({ast.unparse(declared.args)}){returns}: ..."
    namespace: dict[str, Any] = {}
    exec(source, namespace)
    assert inspect.signature(init) == inspect.signature(namespace["f"])
    assert init.__annotations__ == namespace["f"].__annotations__
    assert init.__doc__ == ast.get_docstring(declared)
    parameters = [p for p in inspect.signature(init).parameters if p not in ("self", "children")]
    assert sorted(parameters) == sorted(spec.name for spec in cls.fields)


def test_the_signature_is_what_help_shows() -> None:
    assert str(inspect.signature(Say)) == (
        "(text: 'str', *children: 'Error', type: 'SayType | None' = None,"
        " gender: 'SayGender | None' = None, code: 'str | None' = None,"
        " lang: 'str | None' = None, loop: 'int | None' = None, tag: 'str | None' = None)"
        " -> 'None'"
    )


def test_a_wrong_argument_names_the_class() -> None:
    unexpected = r"^Say\.__init__\(\) got an unexpected keyword argument 'voice'"
    with pytest.raises(TypeError, match=unexpected):
        Say("Hi", voice="x")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"^To\.__init__\(\) missing 1 required positional"):
        To()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"^Hangup\.__init__\(\) got an unexpected keyword"):
        Hangup(text="bye")  # type: ignore[call-arg]


def test_gather_init_reads_like_hand_written_code() -> None:
    source = inspect.getsource(Gather.__init__)
    assert source.startswith(
        "def __init__(self, *children, dtmf_length=None, dtmf_stop=None, url=None, method=None,"
        " timeout=None, attempts=None, tag=None):\n"
        "    _a = ''\n"
        "    if dtmf_length is not None:\n"
        "        if not (dtmf_length.__class__ is int and dtmf_length >= 1): dtmf_length ="
        " CHECK_DTMF_LENGTH(TAG, 'dtmf_length', dtmf_length)\n"
        "        _a = f'{_a} dtmf_length=\"{dtmf_length}\"'\n"
    )
    assert "elif _k in _keys: self._duplicated(_k)" in source  # D5, while the children are read
    assert "v0" not in source


def _formatted(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))


def test_a_failing_check_shows_the_generated_line() -> None:
    with pytest.raises(InvalidAttributeError) as info:
        Gather(dtmf_length=0)
    text = _formatted(info.value)
    assert 'File "<callflow generated __init__ of Gather>", line 4, in __init__' in text
    assert "dtmf_length = CHECK_DTMF_LENGTH(TAG, 'dtmf_length', dtmf_length)" in text


def test_a_missing_required_value_shows_the_generated_line() -> None:
    with pytest.raises(InvalidAttributeError) as info:
        Say(None)  # type: ignore[arg-type]
    text = _formatted(info.value)
    assert 'File "<callflow generated __init__ of Say>", line 4, in __init__' in text
    assert "raise REQUIRED(TAG, 'text')" in text


def test_prepared_renderer_is_visible() -> None:
    doc = prepare(Response(Say(Slot("greeting")), Hangup()))
    render = doc._render
    filename = render.__code__.co_filename
    assert filename.startswith("<callflow generated render of a prepared document (greeting)")
    source = inspect.getsource(render)
    assert source.startswith("def render(*, greeting):")
    with pytest.raises(InvalidAttributeError) as info:
        doc.render(greeting="")
    text = _formatted(info.value)
    assert f'File "{filename}"' in text
    assert "_check_greeting_0('Say', 'text', greeting)" in text


def test_prepared_documents_of_one_structure_share_one_source() -> None:
    first = prepare(Response(Say(Slot("name")), Hangup()))
    second = prepare(Response(Say(Slot("name")), Hangup(tag="bye")))
    assert first._render.__code__.co_filename == second._render.__code__.co_filename
    assert first.render(name="Ann") != second.render(name="Ann")


def test_compile_function_numbers_a_name_taken_by_other_source() -> None:
    name = "<callflow test compile_function>"
    one = compile_function("def f():\n    return 1", "f", name, {}, __name__)
    two = compile_function("def f():\n    return 2", "f", name, {}, __name__)
    again = compile_function("def f():\n    return 1", "f", name, {}, __name__)
    assert (one(), two(), again()) == (1, 2, 1)
    assert one.__code__.co_filename == again.__code__.co_filename == name
    assert two.__code__.co_filename == "<callflow test compile_function -2>"
    assert inspect.getsource(two) == "def f():\n    return 2\n"
    assert one.__module__ == __name__


@pytest.mark.parametrize(
    ("fields", "content", "message"),
    [
        pytest.param((Field("Tag", checks.tag),), None, "snake_case", id="upper-case"),
        pytest.param((Field("_tag", checks.tag),), None, "snake_case", id="private"),
        pytest.param((Field("class", checks.tag),), None, "snake_case", id="keyword"),
        pytest.param((Field("children", checks.tag),), None, "snake_case", id="children"),
        pytest.param((Field("self", checks.tag),), None, "snake_case", id="self"),
        pytest.param(
            (Field("tag", checks.tag), Field("tag", checks.tag)), None, "repeat", id="twice"
        ),
        pytest.param((Field("tag", checks.tag),), "text", "not a field", id="content"),
    ],
)
def test_a_field_the_generated_code_cannot_use_is_refused(
    fields: tuple[Field, ...], content: str | None, message: str
) -> None:
    with pytest.raises(TypeError, match=message):
        type(
            "Bad",
            (Element,),
            {"__slots__": (), "xml_tag": "Bad", "fields": fields, "content": content},
        )


def _declare(init: Any) -> type[Element]:
    fields = (Field("tag", checks.tag), Field("name", checks.tag, required=True))
    body = {"__slots__": (), "xml_tag": "Bad", "fields": fields, "__init__": init}
    return type("Bad", (Element,), body)


def _no_name(self: Any, *children: Any, tag: Any = None) -> None: ...
def _extra(self: Any, *children: Any, tag: Any = None, name: Any, loud: Any = None) -> None: ...
def _args(self: Any, *args: Any, tag: Any = None, name: Any) -> None: ...
def _default(self: Any, *children: Any, tag: Any = "x", name: Any) -> None: ...
def _kwargs(self: Any, *children: Any, name: Any, **tag: Any) -> None: ...


@pytest.mark.parametrize(
    ("init", "message"),
    [
        pytest.param(_no_name, "are not the fields", id="field-missing"),
        pytest.param(_extra, "are not the fields", id="not-a-field"),
        pytest.param(_args, "must be \\*children", id="args"),
        pytest.param(_default, "a default must be None", id="default"),
        pytest.param(_kwargs, "only plain", id="kwargs"),
    ],
)
def test_a_signature_that_does_not_declare_the_fields_is_refused(init: Any, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        _declare(init)


def test_a_class_without_a_declared_init_takes_children_and_keyword_fields() -> None:
    cls = type(
        "Plain",
        (Element,),
        {"__slots__": (), "xml_tag": "Plain", "fields": (Field("tag", checks.tag),)},
    )
    assert str(inspect.signature(cls)) == "(*children, tag=None)"
    assert cls(tag="a&b")._xml == '<Plain tag="a&amp;b"/>'
    with pytest.raises(InvalidAttributeError, match="U\\+0000"):
        cls(tag="\x00")


def _runtime_imports() -> dict[str, set[str]]:
    """The dialect's modules and the dialect modules each imports when it runs (anywhere in
    its code, functions included; not the imports under ``if TYPE_CHECKING:``)."""
    root = Path(callflow.__file__).parent
    graph: dict[str, set[str]] = {}
    for path in sorted((root / "dialect").rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {
            id(node)
            for block in ast.walk(tree)
            if isinstance(block, ast.If) and ast.unparse(block.test) == "TYPE_CHECKING"
            for statement in block.body
            for node in ast.walk(statement)
        }
        imported: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
                imported.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
        graph[module] = imported
    return {m: {i for i in imported if i in graph and i != m} for m, imported in graph.items()}


def test_the_dialect_imports_one_way() -> None:
    graph = _runtime_imports()
    assert "callflow.dialect.elements.base" in graph
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError on a cycle


def test_the_elements_never_import_the_renderer_or_the_readers() -> None:
    # Rendering, prepared documents and the loader use the elements; the elements, which
    # compile their code when they are defined, use none of them.
    graph = _runtime_imports()
    reached: set[str] = set()
    todo = [m for m in graph if m.startswith("callflow.dialect.elements.")]
    while todo:
        module = todo.pop()
        if module not in reached:
            reached.add(module)
            todo.extend(graph[module])
    later = {"rendering", "prepared", "loader", "validation", "linting", "parsing", "reader"}
    assert not {f"callflow.dialect.{name}" for name in later} & reached
