"""The tally's explanation in the reader's language: ``tally.tally`` returns its reason as data (a code and numbers),
worded here with Flask-Babel so the pure tally never needs the web layer."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext


def _choice(choice: str) -> str:
    return {
        "favourable": _("favourable"),
        "favourable_with_conditions": _("favourable with conditions"),
        "changes_requested": _("changes requested"),
        "unfavourable": _("unfavourable"),
    }.get(choice, choice.replace("_", " "))


def _rule(rule: str, met: bool) -> str:
    if met:
        return {"simple_majority": _("a simple majority"), "two_thirds": _("a two-thirds majority"), "unanimity": _("unanimous")}.get(rule, rule)
    return {"simple_majority": _("not a simple majority"), "two_thirds": _("not a two-thirds majority"), "unanimity": _("not unanimous")}.get(rule, rule)


def _then(fallback: str) -> str:
    if fallback == "new_round":
        return _("a new round of voting is needed")
    return _("the decision is %(decision)s", decision=_choice(fallback))


def _join(words: list[str]) -> str:
    if len(words) == 1:
        return words[0]
    return _("%(first)s and %(last)s", first=", ".join(words[:-1]), last=words[-1])


def _of_cast(top: int, cast: int, choice: str) -> str:
    votes_cast = ngettext("%(num)s vote cast", "%(num)s votes cast", cast)
    return ngettext("%(top)s of %(cast)s is %(choice)s", "%(top)s of %(cast)s are %(choice)s", top, top=top, cast=votes_cast, choice=_choice(choice))


def _reason(why: dict[str, Any], voted: int, cast: int) -> str:
    code = why.get("code")
    if code == "no_quorum":
        return _("the quorum was not met, so no decision was taken")
    if code == "all_abstained":
        return ngettext(
            "the only ballot is an abstention, so no votes were cast, there is no majority, and %(then)s",
            "all %(num)s ballots are abstentions, so no votes were cast, there is no majority, and %(then)s",
            voted,
            then=_then(why["then"]),
        )
    if code == "tie":
        return ngettext(
            "%(tied)s are tied at %(top)s of %(num)s vote cast each, so %(then)s",
            "%(tied)s are tied at %(top)s of %(num)s votes cast each, so %(then)s",
            cast,
            tied=_join([_choice(c) for c in why["leaders"]]),
            top=why["top"],
            then=_then(why["then"]),
        )
    if code == "carried":
        return _("%(votes)s, which is %(rule)s", votes=_of_cast(why["top"], cast, why["winner"]), rule=_rule(why["rule"], True))
    if code == "not_carried":
        return _(
            "%(votes)s, the most for any option but %(rule)s, so %(then)s",
            votes=_of_cast(why["top"], cast, why["winner"]),
            rule=_rule(why["rule"], False),
            then=_then(why["then"]),
        )
    raise KeyError(code)


def tally_explanation(result: dict[str, Any] | None) -> str:
    """The stored tally of a vote round (``VoteRound.tally``) explained in one sentence in the current language; a
    tally stored before its reason was kept as data keeps its English explanation."""
    result = result or {}
    why = result.get("reason")
    if not isinstance(why, dict) or "code" not in why:
        return result.get("explanation", "—")
    eligible, voted, cast = result["eligible"], result["voted"], result["cast"]
    head = ngettext(
        "%(voted)s of %(num)s eligible member voted (quorum %(required)s)",
        "%(voted)s of %(num)s eligible members voted (quorum %(required)s)",
        eligible,
        voted=voted,
        required=why["required"],
    )
    if why.get("abstaining"):
        head = ngettext("%(head)s, %(num)s abstaining", "%(head)s, %(num)s abstaining", why["abstaining"], head=head)
    try:
        return _("%(head)s: %(reason)s.", head=head, reason=_reason(why, voted, cast))
    except KeyError:
        return result.get("explanation", "—")
