"""`python -m gpg_vl.rewards {check,list}`; see check.py."""

import sys

from .check import main

sys.exit(main())
