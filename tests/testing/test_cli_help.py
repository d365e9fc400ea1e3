"""The stored ``--help`` text of every command is what argparse makes of the parser.

``ai-spine --help`` prints text stored in :mod:`ai_spine._cli_help` instead of importing
argparse (issue 11: start-up). These tests keep that text honest: it must equal argparse's
own layout of the parser in :mod:`ai_spine._cli_parser` at 80 columns, on every Python, and
every way of asking for help must print it. After changing an option or a help string,
regenerate the stored text with::

    cd tests && python -m testing.test_cli_help
"""

import argparse
import os
import subprocess
import sys
from typing import Dict, Iterator, List

import pytest

from ai_spine import cli
from ai_spine._cli_parser import build

from ._cli_support import child_env, command, modules_imported_by, run_in_process


def _parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                yield from _parsers(child)


def argparse_help() -> Dict[str, str]:
    """Each command's help as argparse itself lays it out, keyed by its ``prog``."""
    texts = {
        parser.prog: argparse.ArgumentParser.format_help(parser) for parser in _parsers(build(None))
    }
    # Python 3.10 renamed the heading "optional arguments"; the stored text uses the new one.
    return {
        prog: text.replace("\noptional arguments:\n", "\noptions:\n")
        for prog, text in texts.items()
    }


def test_the_stored_help_is_argparse_layout_of_every_command() -> None:
    from ai_spine._cli_help import HELP

    expected = argparse_help()
    assert sorted(HELP) == sorted(
        expected
    ), "regenerate: cd tests && python -m testing.test_cli_help"
    for prog, text in expected.items():
        assert (
            HELP[prog] == text
        ), "{!r} changed: cd tests && python -m testing.test_cli_help".format(prog)
    assert len(HELP) == 21  # the top level, 3 groups and 17 commands


@pytest.mark.parametrize(
    "argv, prog",
    [
        (["--help"], "ai-spine"),
        (["-h"], "ai-spine"),
        (["run", "--help"], "ai-spine run"),
        (["flows", "-h"], "ai-spine flows"),
        (["executions", "wait", "--help"], "ai-spine executions wait"),
        (["serve", "--help"], "ai-spine serve"),
    ],
)
def test_help_is_printed_from_the_stored_text_without_a_parser(
    argv: List[str], prog: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ai_spine import _cli_parser
    from ai_spine._cli_help import HELP

    def no_parser(*args: object) -> None:
        raise AssertionError("a parser was built for {}".format(argv))

    monkeypatch.setattr(_cli_parser, "build", no_parser)
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == 0
    assert capsys.readouterr() == (HELP[prog], "")


@pytest.mark.parametrize(
    "argv, prog",
    [
        (["--debug", "--help"], "ai-spine"),
        (["--base-url", "http://127.0.0.1:1", "run", "--help"], "ai-spine run"),
        (["run", "flow-1", "--input", "{}", "--help"], "ai-spine run"),
        (["executions", "get", "-h", "x"], "ai-spine executions get"),
    ],
)
def test_help_asked_among_other_arguments_prints_the_same_text(
    argv: List[str], prog: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ai_spine._cli_help import HELP

    outcome = run_in_process(capsys, monkeypatch, argv)
    assert (outcome.status, outcome.out, outcome.err) == (0, HELP[prog], "")


@pytest.mark.parametrize("argv", [["--help"], ["run", "-h"], ["--version"], ["--debug", "--help"]])
def test_an_answer_to_a_reader_that_went_away_exits_quietly(argv: List[str]) -> None:
    # `ai-spine --help | head -1`, or a pager quit early: as argparse does, no traceback.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            command(*argv),
            stdout=write_end,
            stderr=subprocess.PIPE,
            env=child_env(),
            universal_newlines=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (0, "")


def test_help_without_a_stdout_goes_to_stderr(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ai_spine._cli_help import HELP

    monkeypatch.setattr(sys, "stdout", None)  # pythonw, or a daemon that closed it
    with pytest.raises(SystemExit) as exited:
        cli.main(["run", "--help"])
    assert exited.value.code == 0
    assert capsys.readouterr().err == HELP["ai-spine run"]


def test_a_command_word_with_a_space_is_argparse_to_refuse(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    outcome = run_in_process(capsys, monkeypatch, ["flows list", "--help"])
    assert outcome.status == cli.EXIT_USAGE
    assert "invalid choice: 'flows list'" in outcome.err


def test_help_of_an_unknown_command_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    outcome = run_in_process(capsys, monkeypatch, ["nope", "--help"])
    assert outcome.status == cli.EXIT_USAGE
    assert outcome.out == ""
    assert "invalid choice: 'nope'" in outcome.err


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["agents", "create", "--help"]])
def test_version_and_help_never_import_argparse(argv: List[str]) -> None:
    imported = modules_imported_by(argv)
    assert not imported & {"argparse", "ai_spine._cli_parser", "requests"}, argv


@pytest.mark.skipif(sys.version_info[:2] == (3, 8), reason="3.8's argparse imports shutil")
def test_parsing_never_asks_the_terminal_its_width() -> None:
    # shutil.get_terminal_size() would import shutil (zlib, bz2, lzma) on every parse:
    # argparse formats a usage line to name each subcommand's parser.
    imported = modules_imported_by(["executions", "get", "not-a-uuid"])
    assert "ai_spine._cli_parser" in imported
    assert "shutil" not in imported


def write_stored_help(path: str) -> None:
    """Write :mod:`ai_spine._cli_help` from the parser (then format it with black)."""
    import json

    lines = [
        '"""The ``--help`` text of every ``ai-spine`` command, as argparse lays it out at 80',
        "columns: ``ai-spine --help`` prints it without importing argparse (issue 11).",
        "",
        "Generated by ``cd tests && python -m testing.test_cli_help`` from the parser in",
        ":mod:`ai_spine._cli_parser`; a test fails when the two differ. Do not edit by hand.",
        '"""',
        "",
        "HELP = {",
    ]
    for prog, text in sorted(argparse_help().items()):
        lines.append("    {}: (".format(json.dumps(prog)))
        lines.extend("        {}".format(json.dumps(line)) for line in text.splitlines(True))
        lines.append("    ),")
    lines.append("}")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    subprocess.run([sys.executable, "-m", "black", "-q", path], check=False)


if __name__ == "__main__":
    write_stored_help(
        os.path.join(os.path.dirname(__file__), "..", "..", "ai_spine", "_cli_help.py")
    )
