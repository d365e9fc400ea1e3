"""ai_spine/__init__.py: public names load on first use, so `import ai_spine` stays cheap."""

import os
import subprocess
import sys
from pathlib import Path

import ai_spine


def test_every_public_name_resolves_to_its_home_module() -> None:
    for name in ai_spine.__all__:
        value = getattr(ai_spine, name)
        if name != "__version__":
            assert value.__module__.startswith("ai_spine."), name
    assert set(dir(ai_spine)) >= set(ai_spine.__all__)


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        getattr(ai_spine, "NoSuchThing")
    except AttributeError as error:
        assert "no attribute 'NoSuchThing'" in str(error)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_import_ai_spine_loads_neither_requests_nor_the_client() -> None:
    code = (
        "import sys, ai_spine\n"
        "print(sorted(m for m in ('requests', 'ai_spine.client', 'ai_spine.exceptions')"
        " if m in sys.modules))\n"
        "ai_spine.AISpine\n"
        "print('requests' in sys.modules)\n"
    )
    env = dict(os.environ)  # the child imports the same ai_spine as this test run
    env["PYTHONPATH"] = str(Path(ai_spine.__file__).resolve().parents[1])
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        stdout=subprocess.PIPE,
        universal_newlines=True,
        check=True,
    ).stdout
    assert out.splitlines() == ["[]", "True"]
