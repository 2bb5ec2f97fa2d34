"""The register's downloads stream (issue #16, item 2): measured in a process of its own on a register of 4,000
organisations (12,000 rows), each download's peak memory grows by a few megabytes over a small warm-up download —
the JSON download used to be built whole in memory (+435 MB at 100,000 organisations), its first byte at the end.
Memory is measured (a bound that the old way far exceeds), never time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ORGANISATIONS = 4000
PILLARS = 3  # the Numeum manifesto's, one declared commitment each
BOUND_MB = 20  # the whole JSON of this register is 7.6 MB of text; built in memory it costs several times that


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("register")
    database = f"sqlite:///{folder / 'register.sqlite3'}"
    seeding = subprocess.run(
        [sys.executable, "bench/register_seed.py", "--orgs", str(ORGANISATIONS), "--database", database, "--instance", str(folder / "instance")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert seeding.returncode == 0, seeding.stderr[-2000:]
    return database, str(folder / "instance")


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv"])
def test_a_large_download_streams_with_flat_memory(seeded, fmt):
    database, instance = seeded
    run = subprocess.run(
        [sys.executable, "bench/export_memory.py", "--database", database, "--instance", instance, "--format", fmt],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["status"] == 200
    if fmt == "json":
        assert report["ends"].endswith('""}]}\n') and report["bytes"] > 5_000_000
    else:
        assert report["rows"] == ORGANISATIONS * PILLARS
    assert report["peak_growth_mb"] <= BOUND_MB, report


def test_the_json_download_is_streamed_and_reads_as_before(client, make_user, make_org, make_commitment):
    officer = make_user()
    acme = make_org([(officer, "officer")], name="Acme Streams", kind="company")
    make_commitment(officer, acme, steps=[("declare", None, {})], statement="Explain every model to its users in plain words.")
    response = client.get("/register.json", buffered=False)
    assert response.is_streamed and response.mimetype == "application/json"
    data = json.loads(b"".join(response.iter_encoded()))
    response.close()
    assert set(data) == {"generated_at", "columns", "rows"} and data["rows"][0]["organisation"] == "Acme Streams"
    lines = client.get("/register.jsonl").get_data(as_text=True).splitlines()
    assert [json.loads(line)["organisation"] for line in lines] == ["Acme Streams"] * len(lines) and lines
