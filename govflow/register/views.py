"""The public register (no account needed): search, filters, pages, CSV and JSON downloads."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from ..access import public
from ..actions import csv_download, json_download, jsonl_download
from ..charters.catalog import get_catalog, item_title
from ..engine import utcnow
from ..instances.services import get_engine
from ..organisations.models import OrganisationKind
from ..sandbox.services import published_syntheses
from .services import COLUMNS, RegisterFilters, rows, search

bp = Blueprint("register", __name__)
MAX_QUERY = 100


def _filters() -> RegisterFilters:
    args = request.args
    kinds = {k.value for k in OrganisationKind}
    slugs = {c.slug for c in get_catalog().charters.values()}
    states = set(get_engine().definition("commitment").states)
    return RegisterFilters(
        q=(args.get("q") or "").strip()[:MAX_QUERY],
        charter=args.get("charter") if args.get("charter") in slugs else "",
        pillar=(args.get("pillar") or "").strip()[:64],
        status=args.get("status") if args.get("status") in states else "",
        kind=args.get("kind") if args.get("kind") in kinds else "",
    )


@bp.get("/register")
@public
def index():
    """Signatories by charter with their commitments' status, withdrawals and attestations; searchable and paginated."""
    filters = _filters()
    page = search(filters, current_app.config["PAGE_SIZE"], after=request.args.get("after"), before=request.args.get("before"))
    first_page = page.newer is None
    catalog = get_catalog()
    # (key, title) of each pillar offered as a filter: the latest version's title when several versions share a key.
    titles = {
        p.key: item_title(p.key, c)
        for c in sorted(catalog.charters.values(), key=lambda c: c.version)
        for p in c.pillars
        if not filters.charter or c.slug == filters.charter
    }
    pillars = sorted(titles.items(), key=lambda kv: (kv[1].casefold(), kv[0]))
    return render_template(
        "register/index.html",
        page=page,
        filters=filters,
        charters=catalog.latest_all(),
        catalog=catalog,
        pillars=pillars,
        states=[s for s in get_engine().definition("commitment").states if s != "draft"],
        kinds=[k.value for k in OrganisationKind],
        syntheses=published_syntheses() if first_page and not filters.active() else [],
    )


def _base_url() -> str:
    return current_app.config["GOVFLOW_BASE_URL"].rstrip("/")


@bp.get("/register.csv")
@public
def download_csv():
    """The register as CSV (UTF-8, one row per public commitment; columns in docs/register.md)."""
    stamp = utcnow().strftime("%Y%m%d")
    return csv_download(rows(_filters(), _base_url()), COLUMNS, f"govflow-register-{stamp}.csv")


@bp.get("/register.json")
@public
def download_json():
    """The register as JSON: {"generated_at", "columns", "rows"} with the same columns as the CSV, streamed."""
    now = utcnow()
    head = {"generated_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "columns": COLUMNS}
    return json_download(head, rows(_filters(), _base_url()), f"govflow-register-{now.strftime('%Y%m%d')}.json")


@bp.get("/register.jsonl")
@public
def download_jsonl():
    """The register as JSON Lines: one object per row, with the same columns as the CSV, streamed."""
    return jsonl_download(rows(_filters(), _base_url()), f"govflow-register-{utcnow().strftime('%Y%m%d')}.jsonl")
