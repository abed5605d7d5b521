"""Errors a user can cause end in one line and exit status 2, never in a traceback.

A traceback tells a user that the program broke; a bad `model.path`, a typo in a reward
name or a box outside its image is the user's to fix, so the CLIs print one message
naming the key or the file and what to do. `GPG_VL_DEBUG=1` re-raises, traceback and all.
Anything not listed here is a bug and keeps its traceback.
"""

from __future__ import annotations

import os
import sys
from typing import Callable

EXIT_USER_ERROR = 2


def _kinds() -> list[tuple[tuple[type, ...], str]]:
    """(exception types, label), most specific first; imported here so `import gpg_vl` stays light."""
    from .config import ConfigError
    from .data.collator import PromptTooLong
    from .data.loading import DataError
    from .data.record import RecordError
    from .rewards.registry import RewardLookupError

    kinds: list[tuple[tuple[type, ...], str]] = [
        ((DataError, RecordError, PromptTooLong), "data error"),
        ((RewardLookupError,), "config error: rewards.weights"),
        ((ConfigError,), "config error"),
    ]
    import torch
    kinds.append(((torch.OutOfMemoryError,), "out of memory (lower optim.micro_batch_tokens, "
                                             "rollout.batch_rows or optim.prompts_per_step)"))
    return kinds


def user_error_label(err: BaseException) -> str | None:
    """The message prefix for an error the user can fix, or None for a bug."""
    for types, label in _kinds():
        if isinstance(err, types):
            return label
    return None


def run_cli(main: Callable[[], int]) -> int:
    """`main()`, with user errors printed as one line and exit status 2."""
    try:
        return main()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        label = user_error_label(err)
        if label is None or os.environ.get("GPG_VL_DEBUG", "") not in ("", "0"):
            raise
        print(f"{label}: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
