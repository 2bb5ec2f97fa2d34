"""gunicorn's settings for govflow in production: ``gunicorn -c gunicorn.conf.py wsgi:app`` (docs/operations.md).

Each setting can be changed from the environment without editing this file. The choice of worker class and numbers
is measured by ``bench/served_bench.py`` (``--workers``, ``--threads``); the figures are in bench/results/.
"""

from __future__ import annotations

import os

bind = os.environ.get("GOVFLOW_BIND", "127.0.0.1:8000")
# Measured on the project machine (2 CPUs, PostgreSQL on the same host, 8 concurrent clients taking workflow steps;
# bench/results/served-workers.txt): one process per CPU with 4 threads each served the most steps (316/s, against
# 277/s for 4 sync workers and 267/s for 4 x 2 threads) in half the memory (206 MB for the workers, against 405 and
# 410 MB). Threads suit govflow: a request waits on the database most of its time.
workers = int(os.environ.get("GOVFLOW_WORKERS") or os.cpu_count() or 2)
threads = int(os.environ.get("GOVFLOW_THREADS", "4"))
worker_class = "gthread" if threads > 1 else "sync"
# The app is built once in the master (its YAML parsed and checked, its templates compiled) and the workers share
# that memory copy-on-write; each worker opens database connections of its own (post_fork below).
preload_app = True
timeout = int(os.environ.get("GOVFLOW_TIMEOUT", "30"))
graceful_timeout = 30
# A worker is replaced after this many requests (a slow leak in a library never grows for ever).
max_requests = int(os.environ.get("GOVFLOW_MAX_REQUESTS", "2000"))
max_requests_jitter = 200
accesslog = os.environ.get("GOVFLOW_ACCESS_LOG", "-") or None  # empty: no access log
forwarded_allow_ips = os.environ.get("GOVFLOW_FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_fork(server, worker):
    """A connection opened in the master before the fork must never be shared by two workers: drop the pool."""
    from govflow.extensions import db
    from wsgi import app

    with app.app_context():
        db.engine.dispose(close=False)
