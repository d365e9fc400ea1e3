"""A Griffe extension for the docs build: read a Google ``Example:`` section as ``Examples:``.

The package's docstrings follow the house style (``Example:``, singular). Griffe parses only
the plural as an examples section, whose ``>>>`` lines it renders as code; the singular
becomes an admonition of Markdown text, where ``x["key"]`` reads as a broken link.
"""

import re
from typing import Any

import griffe

_SINGULAR = re.compile(r"^(\s*)Example:\s*$", re.M)


class ExampleSections(griffe.Extension):
    """Rename every ``Example:`` section header to ``Examples:`` before parsing."""

    def on_object(self, *, obj: Any, **kwargs: Any) -> None:
        docstring = getattr(obj, "docstring", None)
        if docstring is not None and "Example:" in docstring.value:
            docstring.value = _SINGULAR.sub(r"\1Examples:", docstring.value)
