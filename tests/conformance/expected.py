"""Tests of AOSP test_device.py that a real non-root phone also fails here, each with why.

EXPECTED_FAILURES: run, and allowed to fail. NOT_RUN: never started, because they would reach
outside the private adb server the runner owns (fixed host ports other sessions may use).
"""

from __future__ import annotations

EXPECTED_FAILURES: dict[str, str] = {}

NOT_RUN: dict[str, str] = {}
