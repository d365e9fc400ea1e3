"""Packaging for ai-spine-sdk.

The version and the runtime dependencies each live in one place and are read from there,
never by importing the package (its dependencies may not be installed yet):

- version: ``ai_spine/__version__.py``
- dependencies: ``requirements.txt``
"""

import os
import re
from typing import Dict, List, Tuple

import setuptools
from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def _read(*parts: str) -> str:
    with open(os.path.join(HERE, *parts), encoding="utf-8") as f:
        return f.read()


def read_version() -> str:
    """Return ``__version__`` from ai_spine/__version__.py without importing the package."""
    match = re.search(
        r"""^__version__\s*=\s*['"]([^'"]+)['"]""", _read("ai_spine", "__version__.py"), re.M
    )
    if not match:
        raise RuntimeError("ai_spine/__version__.py does not define __version__")
    return match.group(1)


def read_requirements() -> List[str]:
    """Return the runtime requirements listed in requirements.txt (comments dropped)."""
    lines = (line.split("#", 1)[0].strip() for line in _read("requirements.txt").splitlines())
    return [line for line in lines if line]


def read_long_description() -> str:
    """Return README.md, or a short text when it is missing (a partial checkout)."""
    try:
        return _read("README.md")
    except OSError:
        return "Python SDK for the AI Spine API."


def license_metadata() -> Tuple[Dict[str, str], List[str]]:
    """Return the MIT license as (setup keywords, classifiers) for this setuptools.

    setuptools 77+ takes an SPDX ``license_expression`` and deprecates license classifiers;
    older releases (the last one for Python 3.7 is 68) know only ``license`` and classifiers.
    """
    if int(setuptools.__version__.split(".")[0]) >= 77:
        return {"license_expression": "MIT"}, []
    return {"license": "MIT"}, ["License :: OSI Approved :: MIT License"]


LICENSE_KEYWORDS, LICENSE_CLASSIFIERS = license_metadata()

# The project has no public repository or hosted documentation yet: the URLs below are the
# ones that exist. Add "Source", "Issues" and "Documentation" when those do.
API_URL = "https://ai-spine-api-production.up.railway.app"
PYPI_URL = "https://pypi.org/project/ai-spine-sdk/"

setup(
    name="ai-spine-sdk",
    version=read_version(),
    description="Python SDK for the AI Spine API: run multi-agent flows and manage agents.",
    long_description=read_long_description(),
    long_description_content_type="text/markdown",
    author="AI Spine",
    url=API_URL,
    project_urls={
        "Homepage": API_URL,
        "Documentation": PYPI_URL,  # the README; the guides are in docs/ of the sdist
        "Changelog": PYPI_URL + "#history",
    },
    **LICENSE_KEYWORDS,
    packages=find_packages(include=["ai_spine", "ai_spine.*"]),
    package_data={"ai_spine": ["py.typed"]},
    include_package_data=False,
    zip_safe=False,
    python_requires=">=3.7",
    install_requires=read_requirements(),
    # AsyncAISpine: pip install "ai-spine-sdk[async]". Each Python gets an aiohttp that
    # supports it (3.8.x is the last for 3.7, 3.10.x the last for 3.8).
    extras_require={
        "async": [
            'aiohttp>=3.8.6,<4; python_version < "3.8"',
            'aiohttp>=3.10.11,<4; python_version >= "3.8"',
        ]
    },
    entry_points={
        "console_scripts": ["ai-spine = ai_spine.cli:main"],
        # The fixtures of ai_spine.testing; inert until a test uses them. The entry point is
        # named after the module so that a suite also listing it in pytest_plugins (as this
        # repository's tests do) does not register it twice.
        "pytest11": ["ai_spine.testing.pytest_plugin = ai_spine.testing.pytest_plugin"],
    },
    keywords=["ai-spine", "sdk", "agents", "flows", "api-client"],
    classifiers=[
        "Development Status :: 5 - Production/Stable",
        "Environment :: Console",
        "Framework :: AsyncIO",
        "Framework :: Pytest",
        "Intended Audience :: Developers",
        "Operating System :: OS Independent",
        "Programming Language :: Python",
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3 :: Only",
        "Programming Language :: Python :: 3.7",
        "Programming Language :: Python :: 3.8",
        "Programming Language :: Python :: 3.9",
        "Programming Language :: Python :: 3.10",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Programming Language :: Python :: 3.13",
        "Topic :: Software Development :: Libraries :: Python Modules",
        "Typing :: Typed",
    ]
    + LICENSE_CLASSIFIERS,
)
