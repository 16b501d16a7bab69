"""Docs the code keeps true (issue 'A codebase a contributor can carry', part 5): the README's command, format,
model-family and hook tables are generated from the code with cog (``docs/readme_tables.py``), and this test
fails when one differs from what the code would write, as llm checks its docs with ``cog --check``."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def test_the_readme_tables_are_what_the_code_generates(monkeypatch, capsys):
    from cogapp import Cog

    monkeypatch.chdir(REPO)
    status = Cog().main(["cog", "--check", "-I", "docs", "README.md"])
    assert status == 0, "a README table differs from the code: run `cog -r -I docs README.md`\n" + capsys.readouterr().out


@pytest.mark.parametrize("table, first_column", [("commands", "bertanno annotate PROJECT"),
                                                 ("formats", "webanno-tsv"), ("families", "crf"),
                                                 ("hooks", "register_views(register)")])
def test_each_table_has_its_rows_in_the_readme(table, first_column):
    # the check above passes on a README whose tables were deleted with their markers: each table must be there
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"cog.outl(readme_tables.{table}())" in readme and f"| `{first_column}" in readme


def test_a_changed_command_fails_the_check(tmp_path, monkeypatch, capsys):
    from cogapp import Cog

    stale = (REPO / "README.md").read_text(encoding="utf-8").replace(
        "| `bertanno agreement PROJECT` |", "| `bertanno agreement PROJECT OLD` |", 1)
    (tmp_path / "README.md").write_text(stale, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert Cog().main(["cog", "--check", "-I", str(REPO / "docs"), "README.md"]) != 0
