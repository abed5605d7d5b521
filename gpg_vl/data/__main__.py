"""`python -m gpg_vl.data check FILE ...`; see check.py."""

import sys

from ..errors import run_cli
from .check import main

sys.exit(run_cli(main))
