"""Declarations of interests, and the independence rule shared by committee review and sandbox evaluation: any declared
link to the organisation concerned or to a partner named in its file is a conflict. Services take the actor, flush, and
never commit."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from ..attestations import entries, log
from ..engine import Refused, utcnow
from ..extensions import db
from ..memo import remember_by
from ..uniques import expect_duplicate
from .models import InterestDeclaration

RELATIONS = ("works_for", "advises", "funds", "funded_by")
# The reason an automatic recusal or exclusion records (and the log commits to): one language-independent English
# sentence, so what is stored does not depend on who happened to trigger it; ``interest_reason`` words it for readers.
CONFLICT_REASON = "Declared interest ({relation}) in {org}."
_STORED_REASON = re.compile(r"^Declared interest \((?P<relation>works for|advises|funds|funded by)\) in (?P<org>.+)\.$", re.DOTALL)
# Reasons stored in French before they were stored in one language.
_STORED_REASON_FR = re.compile(r"^Intérêt déclaré envers (?P<org>.+) \((?P<relation>works for|advises|funds|funded by)\)\.$", re.DOTALL)


class InterestError(Refused):
    """A declaration of interests refused; the message says why."""

    status = 422


def _norm(name: str) -> str:
    """A comparable form of an organisation's name (case, accents, punctuation and spacing ignored)."""
    text = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


def declare_interests(actor: Any, interests: list[dict], personal_links: str | None = None) -> InterestDeclaration:
    """Record a new dated version of ``actor``'s declaration of interests."""
    clean = []
    for item in interests:
        name, relation = (item.get("organisation") or "").strip(), item.get("relation")
        if not name:
            continue
        if relation not in RELATIONS:
            raise InterestError(_("Unknown relation: %(relation)s.", relation=relation))
        clean.append({"organisation": name, "relation": relation})
    last = db.session.scalar(sa.select(sa.func.max(InterestDeclaration.version)).where(InterestDeclaration.user_id == actor.id)) or 0
    declaration = InterestDeclaration(
        user_id=actor.id, version=last + 1, interests=clean, personal_links=(personal_links or "").strip() or None, declared_at=utcnow()
    )
    # Two declarations sent at once from two windows would both take version last + 1: the second is refused.
    sentence = _("Your declaration was changed at the same time from another window. Nothing was overwritten: reload the page and check it.")
    with expect_duplicate(InterestDeclaration.__table__, {"user_id", "version"}, sentence):
        db.session.add(declaration)
    log.add_entry("declaration", declaration_content(declaration), ref=str(declaration.id))
    return declaration


def declaration_content(declaration: InterestDeclaration) -> bytes:
    """What the log commits to for one version of a declaration of interests."""
    return entries.declaration_entry(declaration.user_id, declaration.version, declaration.interests, declaration.personal_links, declaration.declared_at)


def current_declaration(user_id: int) -> InterestDeclaration | None:
    """The latest version of a person's declaration of interests."""
    return current_declarations([user_id])[user_id]


def current_declarations(user_ids: Iterable[int]) -> dict[int, InterestDeclaration | None]:
    """User id -> the latest version of their declaration of interests (None without one): one query per transaction
    for all the people asked about."""

    def query(ids: list[int]) -> sa.Select:
        latest = (
            sa.select(InterestDeclaration.user_id, sa.func.max(InterestDeclaration.version).label("version"))
            .where(InterestDeclaration.user_id.in_(ids))
            .group_by(InterestDeclaration.user_id)
            .subquery()
        )
        return sa.select(InterestDeclaration.user_id, InterestDeclaration).join(
            latest, sa.and_(InterestDeclaration.user_id == latest.c.user_id, InterestDeclaration.version == latest.c.version)
        )

    return remember_by("declaration", (InterestDeclaration,), user_ids, query, lambda rows: rows[0] if rows else None)


def interest_checker(user_id: int) -> Callable[[list[str]], str | None]:
    """A function telling why organisations (by name) conflict with ``user_id``'s current declaration of interests,
    or None; the declaration is read once, so a page can check many applications or referrals.

    The independence rule shared by committee review and sandbox evaluation: any declared link to the organisation
    concerned or to a partner named in its file is a conflict.
    """
    return _checker(current_declaration(user_id))


def interest_checkers(user_ids: list[int]) -> dict[int, Callable[[list[str]], str | None]]:
    """``interest_checker`` for each of ``user_ids``, their current declarations read in one query."""
    declarations = current_declarations(user_ids)
    return {user_id: _checker(declarations.get(user_id)) for user_id in user_ids}


def _checker(declaration: InterestDeclaration | None) -> Callable[[list[str]], str | None]:
    interests = [(_norm(item["organisation"]), item["relation"]) for item in (declaration.interests if declaration else [])]

    def check(organisations: list[str]) -> str | None:
        names: dict[str, str] = {}
        for name in organisations:
            names.setdefault(_norm(name), name)
        for key, relation in interests:
            if key in names:
                return CONFLICT_REASON.format(relation=relation.replace("_", " "), org=names[key])
        return None

    return check


def declared_interest(user_id: int, organisations: list[str]) -> str | None:
    """Why ``user_id``'s current declaration of interests conflicts with one of ``organisations`` (by name), or None."""
    return interest_checker(user_id)(organisations)


def relation_label(relation: str) -> str:
    """A declared relation (``RELATIONS``) in the reader's language."""
    labels = {"works_for": _("works for"), "advises": _("advises"), "funds": _("funds"), "funded_by": _("funded by")}
    return labels.get(relation.replace(" ", "_"), relation)


def interest_reason(reason: str | None) -> str:
    """A recorded recusal or exclusion reason in the reader's language: the declared-interest sentence that automatic
    ones store is worded anew; a reason a person wrote is shown as written."""
    if not reason:
        return reason or ""
    match = _STORED_REASON.match(reason) or _STORED_REASON_FR.match(reason)
    if match is None:
        return reason
    return _("Declared interest (%(relation)s) in %(org)s.", relation=relation_label(match["relation"]), org=match["org"])
