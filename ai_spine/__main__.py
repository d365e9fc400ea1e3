"""``python -m ai_spine``: the ``ai-spine`` command line (see :mod:`ai_spine.cli`).

Example:
    $ python -m ai_spine --version
"""

import sys

from ai_spine.cli import main

if __name__ == "__main__":
    sys.exit(main())
