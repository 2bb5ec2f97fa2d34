"""The app the served benchmark runs under gunicorn: govflow with two benchmark-only endpoints side by side.

``POST /bench/govflow`` takes a step on a random instance of its pool as the real step route does (row locked, the
engine fires, history, log entry, one commit); ``POST /bench/bare`` does the bare ORM step on a random instance of its
own pool (row locked, state updated, history row inserted, one commit). Both act for the same signed-in user, loaded
as Flask-Login loads it on every request of a signed-in user (the user row and its roles): the bare endpoint checks
its role by hand, govflow's engine does. Both answer 204, or 409 when the instance
moved under them. Configured by BENCH_DATABASE_URL, BENCH_INSTANCE_PATH and BENCH_POOL (the number of instances each).
"""

from __future__ import annotations

import os
import random
from pathlib import Path

from engine_bench import CYCLE, bare_orm_step
from flask import Response

from govflow import create_app
from govflow.access import public
from govflow.accounts.models import User
from govflow.engine import EngineError
from govflow.extensions import csrf, db
from govflow.instances.models import WorkflowInstance
from govflow.instances.services import fire_transition, lock_instance

ROOT = Path(__file__).resolve().parents[1]


def build():
    """The benchmark app (its pools are made by served_bench.py before gunicorn starts)."""
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": os.environ["BENCH_DATABASE_URL"],
            "WORKFLOWS_PATH": [str(ROOT / "bench" / "workflows")],
            "SECRET_KEY": "bench",
            "GOVFLOW_KEYS_DIR": str(Path(os.environ["BENCH_INSTANCE_PATH"]) / "keys"),
            # The sequencer runs as its own service beside the workers, as docs/operations.md sets production up.
            "GOVFLOW_SEQUENCER": "off",
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 4, "max_overflow": 4},
            # A load generator posts hundreds of times a second from one address: rate limits off, as for any load
            # test (docs/security.md); the endpoints are benchmark-only and act for a fixed user.
            "RATELIMIT_ENABLED": False,
        },
        instance_path=os.environ["BENCH_INSTANCE_PATH"],
    )
    pool = int(os.environ.get("BENCH_POOL", "1000"))

    # Benchmark-only routes, exempt from CSRF alike (a load generator holds no form token).
    @app.post("/bench/govflow")
    @csrf.exempt
    @public
    def govflow_step():
        instance_id = random.randint(1, pool)  # noqa: S311 - load spreading, not security
        actor = db.session.get(User, 1)
        instance = lock_instance(instance_id)
        try:
            fire_transition(actor, instance, CYCLE[instance.status], {})
        except EngineError:
            db.session.rollback()
            return Response(status=409)
        db.session.commit()
        return Response(status=204)

    @app.post("/bench/bare")
    @csrf.exempt
    @public
    def bare_step():
        instance_id = pool + random.randint(1, pool)  # noqa: S311
        actor = db.session.get(User, 1)
        if not actor.has_role("admin"):
            return Response(status=403)
        bare_orm_step(db.session.get(WorkflowInstance, instance_id, with_for_update=True), actor)
        db.session.commit()
        return Response(status=204)

    return app


app = build() if "BENCH_DATABASE_URL" in os.environ else None
