"""The benchmark script still runs (smoke run at small sizes; timings are read in bench/README.md, never asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


def test_the_engine_benchmark_runs_and_reports_each_ratio():
    result = subprocess.run([sys.executable, "bench/engine_bench.py", "--quick"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("govflow engine benchmark  commit ") and "CPU" in lines[0]
    numbers = [line.split(".")[0] for line in lines[1:]]
    assert sorted(set(numbers)) == ["1", "2", "3", "4"] and numbers == sorted(numbers)
    # Each comparison with a bare baseline gives its ratio (the sequencer's line is a rate: it has no bare twin).
    assert all("ratio" in line for line in lines[1:] if not line.startswith("3.") and "skipped" not in line)


def test_the_sandbox_benchmark_runs_and_reports_each_ratio():
    result = subprocess.run([sys.executable, "bench/sandbox_bench.py", "--quick"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(".")[0] for line in lines[1:]] == ["1", "2"]
    assert all("ratio" in line for line in lines[1:])


def test_the_attestation_benchmark_runs_and_reports_each_ratio():
    result = subprocess.run([sys.executable, "bench/attestation_bench.py", "--quick"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("govflow attestation benchmark  commit ")
    assert [line.split(".")[0] for line in lines[1:]] == ["1", "2", "3", "3", "4"]
    assert "per CPU ratio" in lines[2] and all("ms" in line for line in lines[3:])


def test_the_served_benchmark_runs_or_says_why_it_cannot():
    result = subprocess.run([sys.executable, "bench/served_bench.py", "--quick"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("govflow served benchmark  commit ") and lines[1].startswith("1. ")
    assert "ratio" in lines[1] or "skipped" in lines[1]
