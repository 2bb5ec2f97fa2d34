"""Locate the shared public test vectors in ../shared/vectors, relative to the project root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

VECTORS = Path(__file__).resolve().parents[1].parent / "shared" / "vectors"


def vectors_dir() -> Path:
    """Return the vectors folder; fail the test when it is missing under CI=true, skip it otherwise."""
    if VECTORS.is_dir():
        return VECTORS
    message = f"the shared test vectors are missing: expected them in {VECTORS}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def vector_files(subfolder: str, pattern: str = "*.json") -> list[Path]:
    """List the vector files under a subfolder for parametrisation; empty (never skipping) when absent."""
    # Collection must not skip or fail: a separate test calls vectors_dir() so a missing folder is reported.
    folder = VECTORS / subfolder
    return sorted(folder.rglob(pattern)) if folder.is_dir() else []
