"""Skips that cannot hide in CI: when CIRROSTACK_STRICT_SKIPS=1 (set by `bin/cirrostack test` as root), a
missing daemon or privilege fails the test instead of skipping it."""

from __future__ import annotations

import os

import pytest


def require(condition: bool, reason: str) -> None:
    if condition:
        return
    if os.environ.get("CIRROSTACK_STRICT_SKIPS") == "1":
        pytest.fail(f"required for this run but missing: {reason}", pytrace=False)
    pytest.skip(reason)
