"""Tally an ethics committee's sealed vote under rules that are data: quorum, decision rule, and what a tie or no majority means.

Pure and deterministic: standard library only, integer arithmetic only, so the same ballots under the same rules always give
the same outcome, whichever machine or order counts them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

CHOICES = ("favourable", "favourable_with_conditions", "changes_requested", "unfavourable", "abstain")
ABSTAIN = "abstain"
# The options a decision can be; an abstention is a presence, never an opinion.
DECISIONS = CHOICES[:4]

QUORUM_KINDS = ("count", "share")
DECISION_RULES = ("simple_majority", "two_thirds", "unanimity")
FALLBACKS = ("changes_requested", "unfavourable", "new_round")

RESULTS = ("decided", "no_quorum", "new_round")
# Why a tally came out as it did (Outcome.reason["code"]).
REASONS = ("no_quorum", "all_abstained", "tie", "carried", "not_carried")

_RULE_WORDS = {
    "simple_majority": ("a simple majority", "not a simple majority"),
    "two_thirds": ("a two-thirds majority", "not a two-thirds majority"),
    "unanimity": ("unanimous", "not unanimous"),
}


def _is_int(value: object) -> bool:
    # bool is an int subclass, but True as a quorum is a mistake in the rules, not a number.
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class Rules:
    """A committee's voting rules: how many must vote, what majority decides, and what a tie or no majority leads to."""

    quorum_kind: str
    quorum_value: int
    decision_rule: str
    tie_outcome: str
    no_majority_outcome: str

    def __post_init__(self) -> None:
        """Refuse rules that could not be applied, with a message a committee secretary can act on."""
        if self.quorum_kind not in QUORUM_KINDS:
            raise ValueError(f"Unknown quorum kind {self.quorum_kind!r}: it must be 'count' (a number of members) or 'share' (a percentage).")
        if not _is_int(self.quorum_value):
            raise ValueError(f"The quorum must be a whole number, not {self.quorum_value!r}.")
        if self.quorum_kind == "count" and self.quorum_value < 1:
            raise ValueError(f"A quorum by count must be at least 1 member, not {self.quorum_value}.")
        if self.quorum_kind == "share" and not 1 <= self.quorum_value <= 100:
            raise ValueError(f"A quorum by share must be a percentage from 1 to 100, not {self.quorum_value}.")
        if self.decision_rule not in DECISION_RULES:
            raise ValueError(f"Unknown decision rule {self.decision_rule!r}: it must be one of {', '.join(DECISION_RULES)}.")
        for name in ("tie_outcome", "no_majority_outcome"):
            value = getattr(self, name)
            if value not in FALLBACKS:
                raise ValueError(f"Unknown {name.replace('_', ' ')} {value!r}: it must be one of {', '.join(FALLBACKS)}.")

    def quorum_required(self, eligible: int) -> int:
        """Return how many of the eligible members must vote (abstentions included) for the vote to count."""
        if self.quorum_kind == "count":
            return self.quorum_value
        # Ceiling of quorum_value% of eligible in integers: 50% of 5 needs 3, never 2.5 rounded down.
        # At least one ballot even when nobody is eligible: a vote nobody could cast decides nothing.
        return max(1, (self.quorum_value * eligible + 99) // 100)

    def carried(self, top: int, cast: int) -> bool:
        """Return whether an option with ``top`` of ``cast`` votes (abstentions excluded) meets the decision rule."""
        if self.decision_rule == "simple_majority":
            return top * 2 > cast
        if self.decision_rule == "two_thirds":
            return top * 3 >= cast * 2
        return top == cast


@dataclass(frozen=True)
class Outcome:
    """The tally of one vote: whether it counted, the counts, the decision if any, and why, in one sentence."""

    quorum_met: bool
    eligible: int
    voted: int
    cast: int
    # Left out of the hash so an Outcome stays hashable like its frozen siblings; equality still compares the counts.
    counts: dict[str, int] = field(hash=False)
    decision: str | None
    result: str
    explanation: str
    # The explanation as data, for the web layer to word in the reader's language: "code" is one of REASONS, with the
    # numbers and choices the sentence names (required, abstaining, top, leaders, winner, rule, then).
    reason: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


def _plural(n: int, singular: str, plural: str) -> str:
    return f"{n} {singular if n == 1 else plural}"


def _label(choice: str) -> str:
    return choice.replace("_", " ")


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _of_cast(n: int, cast: int) -> str:
    # "3 of 4 votes cast are", "1 of 1 vote cast is": the verb agrees with the first number.
    return f"{n} of {_plural(cast, 'vote', 'votes')} cast {'is' if n == 1 else 'are'}"


def _fallback(outcome: str) -> tuple[str | None, str, str]:
    """Return (decision, result, words) for a tie or no-majority outcome."""
    if outcome == "new_round":
        return None, "new_round", "a new round of voting is needed"
    return outcome, "decided", f"the decision is {_label(outcome)}"


def tally(rules: Rules, eligible: int, ballots: Iterable[str]) -> Outcome:
    """Count the ballots of eligible members who voted and apply the committee's rules to them."""
    if not _is_int(eligible) or eligible < 0:
        raise ValueError(f"The number of eligible members must be a whole number of at least 0, not {eligible!r}.")
    counts = dict.fromkeys(CHOICES, 0)
    voted = 0
    for ballot in ballots:
        if not isinstance(ballot, str) or ballot not in counts:
            raise ValueError(f"Unknown choice {ballot!r} on a ballot: it must be one of {', '.join(CHOICES)}.")
        counts[ballot] += 1
        voted += 1
    if voted > eligible:
        members = f"only {_plural(eligible, 'eligible member', 'eligible members')}" if eligible else "no eligible members"
        raise ValueError(f"There {'is' if voted == 1 else 'are'} {_plural(voted, 'ballot', 'ballots')} but {members}: each eligible member votes at most once.")
    cast = voted - counts[ABSTAIN]

    required = rules.quorum_required(eligible)
    head = f"{voted} of {_plural(eligible, 'eligible member', 'eligible members')} voted (quorum {required})"
    if counts[ABSTAIN]:
        head += f", {counts[ABSTAIN]} abstaining"

    def outcome(quorum_met: bool, decision: str | None, result: str, reason: str, code: str, **details: Any) -> Outcome:
        why = {"code": code, "required": required, "abstaining": counts[ABSTAIN], **details}
        return Outcome(quorum_met, eligible, voted, cast, counts, decision, result, f"{head}: {reason}.", why)

    if voted < required:
        return outcome(False, None, "no_quorum", "the quorum was not met, so no decision was taken", "no_quorum")

    if cast == 0:
        # Everyone present abstained: no option has any support, which is no majority rather than a tie between zeros.
        decision, result, then = _fallback(rules.no_majority_outcome)
        every = "the only ballot is an abstention" if voted == 1 else f"all {voted} ballots are abstentions"
        return outcome(
            True, decision, result, f"{every}, so no votes were cast, there is no majority, and {then}", "all_abstained", then=rules.no_majority_outcome
        )

    top = max(counts[choice] for choice in DECISIONS)
    # DECISIONS order keeps the wording deterministic; the result itself never depends on order.
    leaders = [choice for choice in DECISIONS if counts[choice] == top]
    if len(leaders) > 1:
        decision, result, then = _fallback(rules.tie_outcome)
        tied = _join([_label(choice) for choice in leaders])
        return outcome(
            True,
            decision,
            result,
            f"{tied} are tied at {top} of {_plural(cast, 'vote', 'votes')} cast each, so {then}",
            "tie",
            top=top,
            leaders=leaders,
            then=rules.tie_outcome,
        )

    winner = leaders[0]
    yes, no = _RULE_WORDS[rules.decision_rule]
    if rules.carried(top, cast):
        return outcome(
            True, winner, "decided", f"{_of_cast(top, cast)} {_label(winner)}, which is {yes}", "carried", top=top, winner=winner, rule=rules.decision_rule
        )
    decision, result, then = _fallback(rules.no_majority_outcome)
    return outcome(
        True,
        decision,
        result,
        f"{_of_cast(top, cast)} {_label(winner)}, the most for any option but {no}, so {then}",
        "not_carried",
        top=top,
        winner=winner,
        rule=rules.decision_rule,
        then=rules.no_majority_outcome,
    )
