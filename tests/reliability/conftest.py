"""The reliability suite's bookkeeping: what the battery tried, summed up at the end."""

from typing import Any, List, Tuple

_TRIED: List[Tuple[str, str, str, str, float]] = []


def record(what: str, name: str, client: str, outcome: str, seconds: float) -> None:
    """Note one case the battery passed: a fault or a bad input, for one client."""
    _TRIED.append((what, name, client, outcome, seconds))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the battery's summary line, and one line per fault."""
    if not _TRIED:
        return
    faults = sorted({name for what, name, _, _, _ in _TRIED if what == "fault"})
    inputs = sorted({name for what, name, _, _, _ in _TRIED if what == "input"})
    cases = len(_TRIED)
    slowest = max(seconds for _, _, _, _, seconds in _TRIED)
    terminalreporter.section("reliability battery")
    for what, name, client, outcome, seconds in sorted(_TRIED):
        if what == "fault":
            terminalreporter.write_line(
                "  {:<45} {:<5} -> {:<22} {:5.2f} s".format(name, client, outcome, seconds)
            )
    terminalreporter.write_line(
        "reliability battery: {} faults and {} bad inputs, {} cases over both clients: every "
        "failure typed, within its time budget (slowest {:.2f} s), client usable after".format(
            len(faults), len(inputs), cases, slowest
        )
    )
