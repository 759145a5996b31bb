"""rfc_notes/ stays true: every test a note names exists, and the index counts the tables.

Each ``rfc_notes/rfcNNNN.md`` holds one requirement table whose last column is
one of: backticked pytest node ids (the requirement is *mapped*), ``fails:``
followed by node ids of strict-xfail tests that show mailwire breaking it, text
starting with ``not tested`` or text starting with ``n/a`` / ``not applicable``.
This module parses the notes as text and the test files with :mod:`ast`
(nothing is imported or run), so a renamed or deleted test breaks the note that
cites it, and a fixed bug (its xfail removed) makes its ``fails:`` row fail.
"""

from __future__ import annotations

import ast
import functools
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).parents[1]
NOTES = ROOT / "rfc_notes"
INDEX = NOTES / "README.md"

NODE_ID = re.compile(r"`(tests/[^`\s]+?\.py(?:::[^`\s]+)?)`")
HEADER = ("§", "requirement", "client?", "test")


def note_files() -> list[pathlib.Path]:
    return sorted(NOTES.glob("rfc*.md"))


def split_row(line: str) -> list[str]:
    # "\|" inside a cell is an escaped pipe, not a column separator.
    cells = re.split(r"(?<!\\)\|", line.strip())
    return [c.strip() for c in cells[1:-1]]


def table_rows(path: pathlib.Path) -> list[list[str]]:
    """The body rows of the note's requirement table (the one headed like HEADER)."""
    rows: list[list[str]] = []
    in_table = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            in_table = False
            continue
        cells = split_row(line)
        if tuple(c.lower() for c in cells) == HEADER:
            in_table = True
            continue
        if in_table and not set("".join(cells)) <= set("-: "):
            rows.append(cells)
    return rows


def status(cell: str) -> str:
    """``mapped``, ``fails``, ``untested`` or ``na`` for a test cell."""
    low = cell.lower()
    if low.startswith("fails:"):
        return "fails"
    if low.startswith("not tested"):
        return "untested"
    if low.startswith(("n/a", "not applicable")):
        return "na"
    if NODE_ID.search(cell):
        return "mapped"
    raise AssertionError(f"test cell is neither node ids, 'not tested' nor 'n/a': {cell!r}")


def counts(path: pathlib.Path) -> dict[str, int]:
    out = {"mapped": 0, "fails": 0, "untested": 0, "na": 0}
    for row in table_rows(path):
        out[status(row[3])] += 1
    return out


def _is_xfail(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> bool:
    return any("xfail" in ast.unparse(d) for d in node.decorator_list)


@functools.cache
def parse_tests(path: pathlib.Path) -> tuple[frozenset[str], frozenset[str]]:
    """``func`` and ``Class::method`` names defined in a test module, and those of
    them decorated as xfail."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    xfails: set[str] = set()

    def walk(body: list[ast.stmt], prefix: str, xfail: bool) -> None:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = prefix + node.name
                names.add(name)
                if xfail or _is_xfail(node):
                    xfails.add(name)
                if isinstance(node, ast.ClassDef):
                    walk(node.body, name + "::", xfail or _is_xfail(node))

    walk(tree.body, "", False)
    return frozenset(names), frozenset(xfails)


def names_in(path: pathlib.Path) -> frozenset[str]:
    return parse_tests(path)[0]


def is_xfail(node_id: str) -> bool:
    file, _, rest = node_id.partition("::")
    name = re.sub(r"\[.*\]$", "", rest)
    return name in parse_tests(ROOT / file)[1]


def node_exists(node_id: str) -> str | None:
    """None when the node exists, else why not."""
    file, _, rest = node_id.partition("::")
    path = ROOT / file
    if not path.is_file():
        return f"no file {file}"
    if not rest:
        return None
    name = re.sub(r"\[.*\]$", "", rest)  # parametrised ids may drop their [params]
    if name not in names_in(path):
        return f"no test {name} in {file}"
    return None


def all_notes_ids() -> list[str]:
    return [p.name for p in note_files()]


def test_there_are_notes() -> None:
    assert len(note_files()) >= 10
    assert INDEX.is_file()


@pytest.mark.parametrize("name", all_notes_ids())
def test_note_table_is_well_formed(name: str) -> None:
    path = NOTES / name
    heading = path.read_text(encoding="utf-8").splitlines()[0]
    number = name.removeprefix("rfc").removesuffix(".md")
    assert re.fullmatch(rf"# RFC {number}: \S.*", heading), f"{name}: heading {heading!r}"
    rows = table_rows(path)
    assert rows, f"{name}: no requirement table with header {HEADER}"
    for row in rows:
        assert len(row) == 4, f"{name}: row has {len(row)} cells: {row}"
        section, requirement, client, test = row
        assert section, f"{name}: row without a section: {row}"
        assert requirement, f"{name}: row without a requirement: {row}"
        assert client.lower().split(" ")[0].rstrip(",;:") in {"yes", "no", "both"}, row
        status(test)


@pytest.mark.parametrize("name", all_notes_ids())
def test_every_cited_test_exists(name: str) -> None:
    missing = []
    for row in table_rows(NOTES / name):
        for node_id in NODE_ID.findall(row[3]):
            why = node_exists(node_id)
            if why:
                missing.append(f"{node_id}: {why}")
    assert not missing, f"{name} cites tests that do not exist:\n" + "\n".join(missing)


def index_rows() -> dict[str, dict[str, int]]:
    """note file name -> the counts the index gives for it."""
    out: dict[str, dict[str, int]] = {}
    for line in INDEX.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            continue
        cells = split_row(line)
        link = re.search(r"\]\((rfc\d+\.md)\)", cells[0]) if cells else None
        if link is None:
            continue
        mapped, fails, untested, na = (int(c) for c in cells[-4:])
        assert link.group(1) not in out, f"{link.group(1)} is in the index twice"
        out[link.group(1)] = {"mapped": mapped, "fails": fails, "untested": untested, "na": na}
    return out


def test_every_note_is_in_the_index() -> None:
    indexed = set(index_rows())
    assert indexed == set(all_notes_ids())


@pytest.mark.parametrize("name", all_notes_ids())
def test_fails_rows_cite_xfails_and_mapped_rows_do_not(name: str) -> None:
    """A ``fails:`` row names a test marked xfail (the bug is shown, not hidden);
    a mapped row names at least one test that is expected to pass."""
    for row in table_rows(NOTES / name):
        kind = status(row[3])
        ids = NODE_ID.findall(row[3])
        if kind == "fails":
            assert ids, row
            assert any(is_xfail(i) for i in ids if "::" in i), f"no xfail test: {row}"
        elif kind == "mapped":
            assert any(not is_xfail(i) for i in ids), f"only xfail tests: {row}"


@pytest.mark.parametrize("name", all_notes_ids())
def test_index_counts_match_the_table(name: str) -> None:
    assert index_rows().get(name) == counts(NOTES / name)


def test_index_totals() -> None:
    """The index's total line adds up its rows."""
    text = INDEX.read_text(encoding="utf-8")
    match = re.search(r"\|\s*\*\*total\*\*[^\n]*", text, flags=re.IGNORECASE)
    assert match, "the index has no **total** row"
    totals = [int(c.strip("*")) for c in split_row(match.group(0))[-4:]]
    rows = index_rows().values()
    assert totals == [sum(r[k] for r in rows) for k in ("mapped", "fails", "untested", "na")]


def test_the_checker_catches_a_missing_test() -> None:
    """The node check is not vacuous: a made-up name fails, a real one passes."""
    assert node_exists("tests/test_rfc_notes.py::test_the_checker_catches_a_missing_test") is None
    assert node_exists("tests/test_rfc_notes.py::test_no_such_thing") is not None
    assert node_exists("tests/no_such_file.py::test_x") is not None
    assert status("`tests/test_rfc_notes.py::test_index_totals`") == "mapped"
    assert status("not tested: a reason") == "untested"
    assert status("n/a: server-only") == "na"
    assert status("fails: `tests/test_rfc_notes.py::test_index_totals`") == "fails"
    assert not is_xfail("tests/test_rfc_notes.py::test_index_totals")
