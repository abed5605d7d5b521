"""Make the repository importable when pytest is run as plain `pytest` from a checkout.

The project is not necessarily installed (`pip install -e .`); converters are run the
same way the README runs them, from the repository root.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
