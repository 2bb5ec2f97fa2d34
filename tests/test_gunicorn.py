"""The production server's settings (gunicorn.conf.py) serve the app: a master building it once (preload) and workers
with database connections of their own, answering pages (issue #16, item 5)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[Path]:
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            if f"PPid:\t{pid}\n" in status.read_text(errors="replace"):
                found.append(status)
        except OSError:  # a process that ended while we read
            continue
    return found


def test_gunicorn_serves_the_app_with_the_repositorys_settings(tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'served.sqlite3'}",
        "GOVFLOW_BIND": f"127.0.0.1:{port}",
        "GOVFLOW_WORKERS": "2",
        "GOVFLOW_SEQUENCER": "off",
        "GOVFLOW_ACCESS_LOG": "",
    }
    env.pop("GOVFLOW_TEST_DATABASE_URL", None)
    bin_dir = Path(sys.executable).parent
    upgrade = subprocess.run([str(bin_dir / "govflow"), "db", "upgrade"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert upgrade.returncode == 0, upgrade.stderr[-1500:]
    server = subprocess.Popen([str(bin_dir / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    answers: dict[str, tuple[int, bytes]] = {}
    children = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(answers) < 2:
            try:
                for path in ("/healthz", "/register"):
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
                        answers[path] = (response.status, response.read())
            except OSError:
                time.sleep(0.3)
        children = _children(server.pid)
    finally:
        server.send_signal(signal.SIGTERM)
        _out, errors = server.communicate(timeout=30)
    assert len(answers) == 2, f"gunicorn did not serve: {errors[-3000:]}"
    assert answers["/healthz"][0] == 200 and b'"database":"ok"' in answers["/healthz"][1].replace(b" ", b"")
    assert answers["/register"][0] == 200 and b"<h1>" in answers["/register"][1]
    assert len(children) == 2  # the workers the settings asked for
    assert "Traceback" not in errors, errors[-2000:]
