"""The usage examples in the docstrings of ai_spine.testing and ai_spine.cli really run."""

import doctest
import importlib

import pytest

MODULES = [
    "ai_spine.cli",
    "ai_spine.testing",
    "ai_spine.testing._agents",
    "ai_spine.testing._auth",
    "ai_spine.testing._engine",
    "ai_spine.testing._faults",
    "ai_spine.testing._http",
    "ai_spine.testing._routes",
    "ai_spine.testing._server",
    "ai_spine.testing._store",
    "ai_spine.testing._validation",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
