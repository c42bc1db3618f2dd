"""The code in README.md and docs/*.md runs, so the docs cannot rot.

Conventions (for whoever writes docs):

* Every ```` ```python ```` block is a **complete program**: it is run in a fresh namespace, from
  the repository root (so ``import flows`` and relative paths work), and must raise nothing,
  log no error and make no App send its fallback document (the callflow pytest plugin's
  check). A block that checks itself with ``assert``, ``starlette.testclient.TestClient`` or
  ``callflow.testing`` shows the reader how to test it, too. ``test_*`` functions it defines
  are called after it has run, their arguments taken from pytest fixtures of those names.
* Or it is a **fragment**, whose first line says so: ``# fragment of: <name>``, where
  ``<name>`` is the heading of the section (in the same file) that holds the complete
  program, or the name a complete program gives itself with a first line
  ``# example: <name>``. The complete program and its fragments are joined in document
  order and run as one program.
* Every shell block (```` ```sh ````, ``bash``, ``shell``, ``console``) runs, from the repository
  root with the test environment's ``callflow`` first on ``PATH``: each command must exit 0,
  or the code its comment gives (``# exit 1``, ``# exit 1: invalid``). ``.venv/bin/`` is the
  test environment's. A block naming ``127.0.0.1:8000`` (``make serve``'s address) talks to a
  real ``callflow serve flows:app`` started by the test, at its own port. In ``console``
  blocks only the ``$ `` lines are commands; the rest is output, not compared.
* A shell block that cannot run in a test (it starts a long-running server, installs
  packages, needs production secrets or root, or is a usage synopsis) is preceded by the
  line ``<!-- not run: <why> -->``, which the rendered page does not show.

The Markdown reader follows CommonMark for fences: ```` ``` ```` or ``~~~``, three or more, an
info string whose first word is the language, a closing fence of the same character at least
as long, and the opening fence's indentation removed from the lines inside.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import linecache
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from callflow.testing import Simulator, watching

ROOT = Path(__file__).resolve().parent.parent
DOCS = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
SHELLS = frozenset(("sh", "bash", "shell", "console"))
SHELL_TIMEOUT_S = 120.0
DEMO_ADDRESS = re.compile(r"(?:127\.0\.0\.1|localhost):8000\b")

_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_HEADING = re.compile(r"^ {0,3}(?P<level>#{1,6})(?:[ \t]+(?P<text>.*?))?(?:[ \t]+#+)?[ \t]*$")
_NOT_RUN = re.compile(r"^\s*<!--\s*not run:\s*(?P<why>.*?)\s*-->\s*$")
_FRAGMENT = re.compile(r"^#\s*fragment of:\s*(?P<name>.+?)\s*$")
_EXAMPLE = re.compile(r"^#\s*example:\s*(?P<name>.+?)\s*$")
_EXIT = re.compile(r"(?:^|\s)#.*?\bexit\s+(?P<code>\d+)\b")


# -- reading Markdown --------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """One fenced code block of a Markdown file."""

    path: Path
    line: int
    """The line of the opening fence (1-based)."""
    language: str
    code: str
    heading: str
    """The text of the nearest heading above it ("" before the first)."""
    not_run: str | None = None
    """Why it is not run, from a ``<!-- not run: ... -->`` line right before it."""
    closed: bool = True

    @property
    def name(self) -> str:
        relative = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path
        return f"{relative}:{self.line}"

    @property
    def first_line(self) -> str:
        return next((line.strip() for line in self.code.splitlines() if line.strip()), "")


def read_blocks(text: str, path: Path = ROOT / "doc.md") -> list[Block]:
    """The fenced code blocks of Markdown ``text``, in document order."""
    lines = text.splitlines()
    blocks: list[Block] = []
    heading = ""
    index = 0
    while index < len(lines):
        line = lines[index]
        opening = _FENCE.match(line)
        if opening is None or (opening["fence"][0] == "`" and "`" in opening["info"]):
            title = _HEADING.match(line)
            if title is not None:
                heading = (title["text"] or "").strip()
            index += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        body: list[str] = []
        closed = False
        start = index
        index += 1
        while index < len(lines):
            inner = lines[index]
            closing = _FENCE.match(inner)
            index += 1
            if (
                closing is not None
                and closing["fence"][0] == fence[0]
                and len(closing["fence"]) >= len(fence)
                and not closing["info"].strip()
            ):
                closed = True
                break
            # CommonMark: remove up to the opening fence's indentation from each line.
            strip = len(inner) - len(inner.lstrip(" "))
            body.append(inner[min(strip, indent) :])
        words = opening["info"].split()
        previous = next((lines[i] for i in range(start - 1, -1, -1) if lines[i].strip()), "")
        marked = _NOT_RUN.match(previous)
        blocks.append(
            Block(
                path=path,
                line=start + 1,
                language=words[0].lower() if words else "",
                code="".join(f"{line}\n" for line in body),
                heading=heading,
                not_run=marked["why"] if marked else None,
                closed=closed,
            )
        )
    return blocks


def all_blocks() -> list[Block]:
    return [block for path in DOCS for block in read_blocks(path.read_text("utf-8"), path)]


BLOCKS = all_blocks()
PYTHON = [block for block in BLOCKS if block.language in ("python", "py", "python3")]
SHELL = [block for block in BLOCKS if block.language in SHELLS]


def _param(block: Block) -> Any:
    return pytest.param(block, id=block.name)


# -- assembling Python programs ----------------------------------------------------------------


@dataclass
class Program:
    """A complete Python block and the fragments that belong to it, in document order."""

    head: Block
    fragments: list[Block] = field(default_factory=list)

    @property
    def blocks(self) -> list[Block]:
        return sorted([self.head, *self.fragments], key=lambda block: block.line)


def example_name(block: Block) -> str:
    """The name fragments use for a complete block: its ``# example:`` line, or its heading."""
    named = _EXAMPLE.match(block.first_line)
    return named["name"] if named else block.heading


def programs(blocks: list[Block]) -> tuple[list[Program], list[str]]:
    """Join the fragments to their complete programs; also return what cannot be joined."""
    found: list[Program] = []
    problems: list[str] = []
    by_name: dict[tuple[Path, str], list[Program]] = {}
    for block in blocks:
        if _FRAGMENT.match(block.first_line) is None:
            program = Program(block)
            found.append(program)
            by_name.setdefault((block.path, example_name(block)), []).append(program)
    for block in blocks:
        fragment = _FRAGMENT.match(block.first_line)
        if fragment is None:
            continue
        heads = by_name.get((block.path, fragment["name"]), [])
        if len(heads) != 1:
            how = "no" if not heads else f"{len(heads)}"
            problems.append(
                f"{block.name}: '# fragment of: {fragment['name']}' names {how} complete example"
                " (a section heading above a complete block of this file, or its"
                " '# example:' name)"
            )
            continue
        heads[0].fragments.append(block)
    return found, problems


PROGRAMS, FRAGMENT_PROBLEMS = programs(PYTHON)


def source_of(program: Program) -> tuple[str, str]:
    """The program's source, and a file name for tracebacks (registered with linecache)."""
    parts: list[str] = []
    line = 1
    for block in program.blocks:
        # Blank lines keep each block's line numbers as they are in the Markdown file.
        padding = max(block.line + 1 - line, 0)
        parts.append("\n" * padding + block.code)
        line += padding + block.code.count("\n")
    source = "".join(parts)
    filename = f"<{program.head.name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    return source, filename


def run_tests_defined(namespace: dict[str, Any], filename: str, request: Any) -> list[str]:
    """Call the ``test_*`` functions the program defined, with fixtures for arguments."""
    called = []
    for name, value in list(namespace.items()):
        if not (name.startswith("test") and inspect.isfunction(value)):
            continue
        if value.__code__.co_filename != filename:
            continue  # imported, not defined by the block
        arguments = {p: request.getfixturevalue(p) for p in inspect.signature(value).parameters}
        module_marks = namespace.get("pytestmark", [])
        if not isinstance(module_marks, list):
            module_marks = [module_marks]
        marks = {mark.name for mark in [*module_marks, *getattr(value, "pytestmark", [])]}
        # As the plugin does for a marked test: its fallbacks and App errors are its own.
        with watching() if "callflow_expect_fallback" in marks else contextlib.nullcontext():
            result = value(**arguments)
            if inspect.iscoroutine(result):
                asyncio.run(result)
        called.append(name)
    return called


@pytest.fixture
def callflow_sim(callflow_simulator: Callable[..., Simulator]) -> Simulator:
    """The plugin's ``callflow_sim`` for the target the docs configure (docs/testing.md:
    ``callflow_target = "flows:app"``), which this repository's own ini options do not set."""
    return callflow_simulator("flows:app")


@pytest.mark.parametrize("program", [pytest.param(p, id=p.head.name) for p in PROGRAMS])
def test_python_example_runs(
    program: Program, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.syspath_prepend(str(ROOT))
    source, filename = source_of(program)
    namespace: dict[str, Any] = {"__name__": "__main__", "__file__": filename}
    exec(compile(source, filename, "exec"), namespace)
    run_tests_defined(namespace, filename, request)


def test_every_fragment_belongs_to_one_complete_example() -> None:
    assert FRAGMENT_PROBLEMS == []


@pytest.mark.parametrize("block", [_param(b) for b in PYTHON])
def test_python_blocks_are_never_skipped(block: Block) -> None:
    assert block.not_run is None, f"{block.name}: Python blocks always run (make it complete)"


@pytest.mark.parametrize("path", [pytest.param(p, id=p.name) for p in DOCS])
def test_every_fence_is_closed(path: Path) -> None:
    unclosed = [b.name for b in read_blocks(path.read_text("utf-8"), path) if not b.closed]
    assert unclosed == []


# -- shell blocks ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    text: str
    expected: int


def commands(block: Block) -> list[Command]:
    """The commands of a shell block, with the exit code each must end with."""
    lines = block.code.splitlines()
    if block.language == "console":
        lines = [line[2:] for line in lines if line.startswith("$ ")]
    found: list[Command] = []
    pending = ""
    for line in lines:
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line
        if line.endswith("\\"):  # continued on the next line
            pending += "\n"
            continue
        code = _EXIT.search(pending)
        found.append(Command(pending, int(code["code"]) if code else 0))
        pending = ""
    if pending:
        found.append(Command(pending, 0))
    return found


def _environment() -> dict[str, str]:
    """The developer's environment without ``CALLFLOW_*``, this interpreter's bin first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLFLOW_")}
    env["PATH"] = os.pathsep.join((str(Path(sys.executable).parent), env.get("PATH", "")))
    return env


def script_of(block: Block, base_url: str | None) -> str:
    """One bash script for the block: each command, then a marker with its exit code (in
    one shell, so an ``export`` holds for the commands after it)."""
    bin_dir = f"{Path(sys.executable).parent}/"
    lines = []
    for index, command in enumerate(commands(block)):
        text = command.text.replace(".venv/bin/", bin_dir)
        if base_url is not None:
            text = DEMO_ADDRESS.sub(base_url.removeprefix("http://"), text)
        lines.append(text)
        lines.append(f'printf "\\n@@exit {index} %d\\n" "$?" >&2')
    return "\n".join(lines) + "\n"


_MARK = re.compile(r"^@@exit (\d+) (\d+)$", re.MULTILINE)


def run_shell(block: Block, base_url: str | None) -> tuple[dict[int, int], str, str]:
    """Run the block; return each command's exit code by index, stdout and stderr."""
    process = subprocess.Popen(
        ["bash", "-c", script_of(block, base_url)],
        cwd=ROOT,
        env=_environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, to stop all of it at a timeout
    )
    try:
        out, err = process.communicate(timeout=SHELL_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        pytest.fail(f"{block.name} still ran after {SHELL_TIMEOUT_S} s:\n{out}\n{err}")
    codes = {int(index): int(code) for index, code in _MARK.findall(err)}
    return codes, out, _MARK.sub("", err)


def _server_url(block: Block, request: pytest.FixtureRequest) -> str | None:
    if DEMO_ADDRESS.search(block.code) is None:
        return None
    server = request.getfixturevalue("demo_server")
    url: str = server.base_url
    return url


RUN = [_param(b) for b in SHELL if b.not_run is None]


@pytest.mark.parametrize("block", RUN)
def test_shell_example_runs(block: Block, request: pytest.FixtureRequest) -> None:
    expected = commands(block)
    assert expected, f"{block.name} has no command"
    codes, out, err = run_shell(block, _server_url(block, request))
    for index, command in enumerate(expected):
        assert codes.get(index) == command.expected, (
            f"{block.name}: {command.text!r} exited {codes.get(index)}, not"
            f" {command.expected}\n--- stdout\n{out}\n--- stderr\n{err}"
        )


@pytest.mark.parametrize("block", [_param(b) for b in SHELL if b.not_run is not None])
def test_a_shell_block_not_run_says_why(block: Block) -> None:
    assert block.not_run, f"{block.name}: say why it is not run"


@pytest.mark.parametrize("block", RUN)
def test_simulations_in_the_docs_pin_the_clock(block: Block) -> None:
    # A Schedule makes an unpinned call depend on the hour the docs are read (and tested) at.
    unpinned = [c.text for c in commands(block) if "simulate" in c.text and "--at" not in c.text]
    assert unpinned == []


# -- the README's promises ---------------------------------------------------------------------


def _readme(heading: str) -> list[Block]:
    return [b for b in BLOCKS if b.path.name == "README.md" and b.heading == heading]


def test_the_quickstart_is_two_commands() -> None:
    first = _readme("Quickstart")[0]
    assert [c.text.split("#")[0].strip() for c in commands(first)] == ["make serve", "make test"]


def test_the_readme_simulation_reaches_the_account_step(request: pytest.FixtureRequest) -> None:
    block = next(b for b in _readme("Quickstart") if "simulate" in b.code)
    codes, out, err = run_shell(block, _server_url(block, request))
    assert set(codes.values()) == {0}, err
    assert "Say: Our office is closed" not in out
    assert "The balance of the account ending in 3 4 5 6" in out, out


# -- the lint table of docs/validation.md ------------------------------------------------------

_LINT_ROW = re.compile(r"^\| (CF\d{3}) \| (error|warning|info) \| (.+) \|$", re.MULTILINE)


def test_the_lint_table_has_a_severity_for_every_code() -> None:
    from callflow.dialect.linting import codes as lint_codes

    rows = _LINT_ROW.findall((ROOT / "docs" / "validation.md").read_text("utf-8"))
    assert [code for code, _, _ in rows] == list(lint_codes())
    for code, severity, finding in rows:
        # tests/test_lint.py checks lint's severities against these notes in the finding.
        noted = "error" if "severity error" in finding else "info" if "(info)" in finding else None
        assert severity == (noted or "warning"), code


# -- the Markdown reader itself ----------------------------------------------------------------


def _read(text: str) -> list[tuple[str, str, str]]:
    return [(b.language, b.code, b.heading) for b in read_blocks(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("```python\nx = 1\n```\n", [("python", "x = 1\n", "")], id="backticks"),
        pytest.param("~~~sh\nls\n~~~\n", [("sh", "ls\n", "")], id="tildes"),
        pytest.param(
            "# Title\n\n## Part\n```py title=a.py\nx\n```\n",
            [("py", "x\n", "Part")],
            id="info-string-and-heading",
        ),
        pytest.param(
            "````md\n```python\nnot a block\n```\n````\n",
            [("md", "```python\nnot a block\n```\n", "")],
            id="longer-fence-holds-a-shorter-one",
        ),
        pytest.param(
            "~~~\n```\n~~~\n", [("", "```\n", "")], id="other-fence-character-does-not-close"
        ),
        pytest.param(
            "* item\n\n  ```python\n  if x:\n      y\n  ```\n",
            [("python", "if x:\n    y\n", "")],
            id="indented-in-a-list",
        ),
        pytest.param(
            "```python\nx\n```   \nafter\n", [("python", "x\n", "")], id="closing-fence-spaces"
        ),
        pytest.param(
            "```python\n```not closing\n```\n",
            [("python", "```not closing\n", "")],
            id="closing-fence-has-no-info",
        ),
        pytest.param("``` `x` ```\n", [], id="inline-code-is-no-fence"),
        pytest.param("```\n\n```\n", [("", "\n", "")], id="empty-language"),
        pytest.param("# A #\n```sh\nls\n```\n", [("sh", "ls\n", "A")], id="closed-heading"),
    ],
)
def test_the_fence_reader(text: str, expected: list[tuple[str, str, str]]) -> None:
    assert _read(text) == expected


def test_an_unclosed_fence_runs_to_the_end() -> None:
    (block,) = read_blocks("```python\nx = 1\n")
    assert (block.code, block.closed) == ("x = 1\n", False)


def test_a_not_run_comment_marks_the_next_block_only() -> None:
    first, second = read_blocks(
        "<!-- not run: a server -->\n\n```sh\nmake serve\n```\n\n```sh\nls\n```\n"
    )
    assert (first.not_run, second.not_run) == ("a server", None)


def test_commands_and_their_exit_codes() -> None:
    (block,) = read_blocks(
        "```sh\n# a comment\nexport A=1\ncallflow validate x.xml  # exit 1: invalid\n"
        "curl -s \\\n  http://h/\n```\n"
    )
    assert commands(block) == [
        Command("export A=1", 0),
        Command("callflow validate x.xml  # exit 1: invalid", 1),
        Command("curl -s \\\n  http://h/", 0),
    ]
    (console,) = read_blocks("```console\n$ callflow lint a.xml  # exit 1\na.xml:1:1: ...\n```\n")
    assert commands(console) == [Command("callflow lint a.xml  # exit 1", 1)]


def test_fragments_join_their_example_in_document_order() -> None:
    text = (
        "## Flows\n```python\napp = 1\n```\n## More\n```python\n# fragment of: Flows\nb = app\n"
        "```\n```python\n# example: other\nc = 3\n```\n```python\n# fragment of: other\nd = c\n```"
        "\n```python\n# fragment of: Nowhere\n```\n"
    )
    found, problems = programs(read_blocks(text))
    assert [[b.line for b in p.blocks] for p in found] == [[2, 6], [10, 14]]
    assert len(problems) == 1 and "Nowhere" in problems[0]
    source, filename = source_of(found[0])
    namespace: dict[str, Any] = {}
    exec(compile(source, filename, "exec"), namespace)
    assert namespace["b"] == 1
    assert source.splitlines()[7] == "b = app"  # line 8 of the Markdown text, 1-based
