"""Every public name of the core is documented, and the runnable examples in docstrings run."""

import doctest
import importlib
import inspect
from typing import Any, Iterator, Tuple

import pytest

import ai_spine
from ai_spine import AISpine, AsyncAISpine

CORE_MODULES = [
    "ai_spine",
    "ai_spine._cli_output",
    "ai_spine._objects",
    "ai_spine._async",
    "ai_spine._base",
    "ai_spine._batch",
    "ai_spine._operations",
    "ai_spine._protocol",
    "ai_spine._sync",
    "ai_spine._wait",
    "ai_spine.async_client",
    "ai_spine.cli",
    "ai_spine.client",
    "ai_spine.constants",
    "ai_spine.exceptions",
    "ai_spine.models",
    "ai_spine.retry",
    "ai_spine.utils",
]
# Docstring examples that run as they are (the client's need a live server).
DOCTEST_MODULES = [
    "ai_spine._batch",
    "ai_spine._cli_output",
    "ai_spine._objects",
    "ai_spine._operations",
    "ai_spine._protocol",
    "ai_spine._wait",
    "ai_spine.cli",
    "ai_spine.exceptions",
    "ai_spine.models",
    "ai_spine.retry",
    "ai_spine.utils",
]


def public_names() -> Iterator[Tuple[str, Any]]:
    for module_name in CORE_MODULES:
        module = importlib.import_module(module_name)
        yield module_name, module
        for name, value in vars(module).items():
            if name.startswith("_") or getattr(value, "__module__", None) != module_name:
                continue
            if inspect.isclass(value) or inspect.isfunction(value):
                yield "{}.{}".format(module_name, name), value
                for member_name, member in vars(value).items() if inspect.isclass(value) else []:
                    if not member_name.startswith("_") and inspect.isfunction(member):
                        yield "{}.{}.{}".format(module_name, name, member_name), member


@pytest.mark.parametrize("name, value", list(public_names()), ids=lambda v: str(v)[:60])
def test_every_public_name_has_a_docstring(name: str, value: Any) -> None:
    assert (inspect.getdoc(value) or "").strip(), name + " has no docstring"


@pytest.mark.parametrize(
    "cls, method",
    [
        (cls, m)
        for cls in (AISpine, AsyncAISpine)
        for m in vars(cls)
        if not m.startswith("_") and callable(vars(cls)[m])
    ],
)
def test_client_methods_have_google_style_sections(cls: Any, method: str) -> None:
    doc = inspect.getdoc(getattr(cls, method)) or ""
    parameters = [p for p in inspect.signature(getattr(cls, method)).parameters if p != "self"]
    if parameters:
        assert "Args:" in doc
        for parameter in parameters:
            assert "    {}:".format(parameter) in doc, "{}: {} undocumented".format(
                method, parameter
            )
    assert "Example:" in doc, method + " lacks Example:"
    if inspect.signature(getattr(cls, method)).return_annotation not in (None, "None"):
        assert "Returns:" in doc, method + " lacks Returns:"


@pytest.mark.parametrize("module_name", DOCTEST_MODULES)
def test_docstring_examples_run(module_name: str) -> None:
    result = doctest.testmod(importlib.import_module(module_name))
    assert result.attempted > 0 and result.failed == 0


def test_everything_exported_is_documented() -> None:
    for name in ai_spine.__all__:
        value = getattr(ai_spine, name)
        if name != "__version__":
            assert (inspect.getdoc(value) or "").strip(), name
