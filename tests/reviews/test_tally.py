"""The sealed-vote tally: a table of committee situations in plain sentences, then properties over random votes."""

from __future__ import annotations

from collections import Counter
from fractions import Fraction
from math import ceil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govflow.reviews.tally import CHOICES, Outcome, Rules, tally

DECISIONS = ("favourable", "favourable_with_conditions", "changes_requested", "unfavourable")
FALLBACKS = ("changes_requested", "unfavourable", "new_round")


def rules(quorum: str = "count:1", rule: str = "simple_majority", tie: str = "new_round", none: str = "unfavourable") -> Rules:
    """Rules from a compact quorum ("count:4" or "share:50") and the other fields, so each table row reads on one line."""
    kind, value = quorum.split(":")
    return Rules(quorum_kind=kind, quorum_value=int(value), decision_rule=rule, tie_outcome=tie, no_majority_outcome=none)


CODES = {"F": "favourable", "W": "favourable_with_conditions", "C": "changes_requested", "U": "unfavourable", "A": "abstain"}


def ballots(spec: str) -> list[str]:
    """Ballots from counts per choice, e.g. "3W 1F 2A": F favourable, W with conditions, C changes requested, U unfavourable, A abstain."""
    return [CODES[part[-1]] for part in spec.split() for _ in range(int(part[:-1]))]


# (sentence, rules, eligible, ballots, expected result, expected decision)
CASES = [
    # Quorum by count.
    ("a count quorum of 4 is met by exactly 4 of 6 members voting", rules("count:4"), 6, ballots("3W 1F"), "decided", "favourable_with_conditions"),
    ("a count quorum of 4 is missed by 3 of 6 members, however unanimous", rules("count:4"), 6, ballots("3F"), "no_quorum", None),
    ("a count quorum above the eligible members can never be met", rules("count:5"), 4, ballots("4F"), "no_quorum", None),
    # Quorum by share, of eligible members only.
    ("50% of 5 eligible rounds up to 3, so 2 voters miss the quorum", rules("share:50"), 5, ballots("2F"), "no_quorum", None),
    ("50% of 5 eligible rounds up to 3, so 3 voters meet the quorum", rules("share:50"), 5, ballots("3F"), "decided", "favourable"),
    ("2 recusals of 6 members leave 4 eligible, so 2 voters meet a 50% quorum", rules("share:50"), 4, ballots("2F"), "decided", "favourable"),
    ("without those recusals the same 2 voters miss a 50% quorum of 6", rules("share:50"), 6, ballots("2F"), "no_quorum", None),
    ("66% of 3 eligible needs 2 voters", rules("share:66"), 3, ballots("2U"), "decided", "unfavourable"),
    ("67% of 3 eligible needs all 3 voters", rules("share:67"), 3, ballots("2U"), "no_quorum", None),
    ("a 100% quorum needs every eligible member", rules("share:100"), 3, ballots("2F"), "no_quorum", None),
    ("a 1% quorum is met by a single voter of 100", rules("share:1"), 100, ballots("1C"), "decided", "changes_requested"),
    ("when every member is recused nobody is eligible and no share quorum is met", rules("share:50"), 0, [], "no_quorum", None),
    # Abstentions count for quorum, not for the majority.
    ("2 votes and 2 abstentions meet a count quorum of 4", rules("count:4"), 5, ballots("2F 2A"), "decided", "favourable"),
    ("2 of 3 votes cast is a simple majority even with 3 abstentions", rules("count:6"), 6, ballots("2F 1U 3A"), "decided", "favourable"),
    ("abstentions count as present but cannot stand in for absent members", rules("count:4"), 6, ballots("1F 2A"), "no_quorum", None),
    # Simple majority, two thirds, unanimity.
    ("3 of 5 votes cast is a simple majority", rules(), 5, ballots("3F 2U"), "decided", "favourable"),
    ("exactly half (2 of 4) is not a simple majority", rules(none="changes_requested"), 4, ballots("2F 1U 1C"), "decided", "changes_requested"),
    ("3 of 5 votes cast falls short of two thirds", rules(rule="two_thirds"), 5, ballots("3F 2U"), "decided", "unfavourable"),
    ("exactly two thirds (4 of 6) carries a two-thirds rule", rules(rule="two_thirds", none="new_round"), 6, ballots("4F 2U"), "decided", "favourable"),
    ("all votes cast alike is unanimous, abstentions aside", rules(rule="unanimity", none="new_round"), 5, ballots("3F 2A"), "decided", "favourable"),
    ("a single dissent breaks unanimity", rules(rule="unanimity", none="new_round"), 5, ballots("4F 1U"), "new_round", None),
    ("a lone voter is unanimous", rules(rule="unanimity"), 1, ballots("1U"), "decided", "unfavourable"),
    # Ties for the most votes, with each tie outcome.
    ("a 2-2 tie requests changes when the rules say so", rules(tie="changes_requested"), 4, ballots("2F 2U"), "decided", "changes_requested"),
    ("a 2-2 tie is unfavourable when the rules say so", rules(tie="unfavourable"), 4, ballots("2F 2W"), "decided", "unfavourable"),
    ("a 2-2 tie calls a new round when the rules say so", rules(tie="new_round"), 4, ballots("2F 2U"), "new_round", None),
    ("a three-way 1-1-1 tie is a tie", rules(tie="changes_requested", none="new_round"), 3, ballots("1F 1W 1U"), "decided", "changes_requested"),
    ("a top tie takes the tie outcome, not no majority", rules(rule="unanimity", tie="changes_requested"), 4, ballots("2F 2U"), "decided", "changes_requested"),
    ("a tie below the top is no tie", rules(tie="new_round"), 5, ballots("3F 1U 1C"), "decided", "favourable"),
    # No option reaches the rule, without a tie.
    ("2 of 5 leads short of a majority: changes requested", rules(none="changes_requested"), 5, ballots("2F 1U 1C 1W"), "decided", "changes_requested"),
    ("2 of 5 leads short of a majority: a new round", rules(none="new_round"), 5, ballots("2F 1U 1C 1W"), "new_round", None),
    # Everyone present abstains.
    ("everyone abstaining is no majority, here unfavourable", rules("count:3", tie="changes_requested"), 4, ballots("3A"), "decided", "unfavourable"),
    ("everyone abstaining is no majority, here a new round", rules("count:3", tie="unfavourable", none="new_round"), 4, ballots("3A"), "new_round", None),
    ("everyone abstaining is not vacuously unanimous", rules(rule="unanimity", none="changes_requested"), 2, ballots("2A"), "decided", "changes_requested"),
    ("everyone abstaining below the quorum is still no quorum", rules("count:3"), 4, ballots("2A"), "no_quorum", None),
]


@pytest.mark.parametrize(("committee_rules", "eligible", "votes", "result", "decision"), [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_table(committee_rules: Rules, eligible: int, votes: list[str], result: str, decision: str | None) -> None:
    outcome = tally(committee_rules, eligible, votes)
    assert (outcome.result, outcome.decision) == (result, decision)
    assert outcome.quorum_met == (result != "no_quorum")
    assert outcome.eligible == eligible
    assert outcome.voted == len(votes)
    assert outcome.cast == len(votes) - votes.count("abstain")
    assert outcome.counts == {choice: votes.count(choice) for choice in CHOICES}


def test_explanation_reads_as_a_sentence() -> None:
    outcome = tally(rules("count:4"), 6, ballots("3W 1F"))
    assert outcome.explanation == "4 of 6 eligible members voted (quorum 4): 3 of 4 votes cast are favourable with conditions, which is a simple majority."


@pytest.mark.parametrize(
    ("committee_rules", "eligible", "votes", "explanation"),
    [
        pytest.param(
            rules("share:50"),
            5,
            ballots("2F"),
            "2 of 5 eligible members voted (quorum 3): the quorum was not met, so no decision was taken.",
            id="no quorum names the members needed",
        ),
        pytest.param(
            rules(tie="new_round"),
            5,
            ballots("2F 2U 1A"),
            "5 of 5 eligible members voted (quorum 1), 1 abstaining: favourable and unfavourable are tied at 2 of 4 votes cast each,"
            " so a new round of voting is needed.",
            id="a tie names the tied options",
        ),
        pytest.param(
            rules(rule="two_thirds", none="changes_requested"),
            5,
            ballots("3F 2U"),
            "5 of 5 eligible members voted (quorum 1): 3 of 5 votes cast are favourable, the most for any option but not a two-thirds majority,"
            " so the decision is changes requested.",
            id="no majority says which rule was missed and what follows",
        ),
        pytest.param(
            rules(rule="unanimity"),
            1,
            ballots("1U"),
            "1 of 1 eligible member voted (quorum 1): 1 of 1 vote cast is unfavourable, which is unanimous.",
            id="one voter reads in the singular",
        ),
        pytest.param(
            rules("count:2", none="unfavourable"),
            3,
            ballots("2A"),
            "2 of 3 eligible members voted (quorum 2), 2 abstaining: all 2 ballots are abstentions, so no votes were cast, there is no majority,"
            " and the decision is unfavourable.",
            id="everyone abstaining says so",
        ),
    ],
)
def test_explanations(committee_rules: Rules, eligible: int, votes: list[str], explanation: str) -> None:
    assert tally(committee_rules, eligible, votes).explanation == explanation


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        pytest.param({"quorum_kind": "percent"}, "Unknown quorum kind", id="an unknown quorum kind is refused"),
        pytest.param({"quorum_kind": "share", "quorum_value": 0}, "from 1 to 100", id="a share of 0% is refused"),
        pytest.param({"quorum_kind": "share", "quorum_value": 101}, "from 1 to 100", id="a share over 100% is refused"),
        pytest.param({"quorum_kind": "count", "quorum_value": 0}, "at least 1", id="a count quorum of 0 is refused"),
        pytest.param({"quorum_kind": "count", "quorum_value": -2}, "at least 1", id="a negative count quorum is refused"),
        pytest.param({"quorum_value": 2.5}, "whole number", id="a fractional quorum is refused"),
        pytest.param({"quorum_value": True}, "whole number", id="a boolean quorum is refused"),
        pytest.param({"decision_rule": "plurality"}, "Unknown decision rule", id="an unknown decision rule is refused"),
        pytest.param({"tie_outcome": "favourable"}, "Unknown tie outcome", id="a favourable tie outcome is refused"),
        pytest.param({"no_majority_outcome": "abstain"}, "Unknown no majority outcome", id="an abstaining no-majority outcome is refused"),
    ],
)
def test_invalid_rules(fields: dict[str, object], message: str) -> None:
    valid = {"quorum_kind": "count", "quorum_value": 3, "decision_rule": "simple_majority", "tie_outcome": "new_round", "no_majority_outcome": "unfavourable"}
    with pytest.raises(ValueError, match=message):
        Rules(**(valid | fields))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("eligible", "votes", "message"),
    [
        pytest.param(3, ["favourable", "yes"], "Unknown choice 'yes'", id="an unknown choice is refused"),
        pytest.param(3, ["Favourable"], "Unknown choice 'Favourable'", id="choices are case-sensitive"),
        pytest.param(3, [None], "Unknown choice None", id="a blank ballot is refused"),
        pytest.param(2, ballots("3F"), "are 3 ballots but only 2 eligible members", id="more ballots than eligible members are refused"),
        pytest.param(0, ballots("1A"), "is 1 ballot but no eligible members", id="a ballot when nobody is eligible is refused"),
        pytest.param(-1, [], "at least 0", id="a negative number of eligible members is refused"),
    ],
)
def test_invalid_tally(eligible: int, votes: list[object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        tally(rules(), eligible, votes)  # type: ignore[arg-type]


def test_ballots_may_be_a_one_shot_iterator() -> None:
    assert tally(rules(), 3, iter(ballots("2F 1A"))) == tally(rules(), 3, ballots("1A 2F"))


def test_rules_and_outcomes_are_immutable_values() -> None:
    committee_rules = rules()
    outcome = tally(committee_rules, 2, ballots("2F"))
    with pytest.raises(AttributeError):
        committee_rules.quorum_value = 2  # type: ignore[misc]
    with pytest.raises(AttributeError):
        outcome.decision = "unfavourable"  # type: ignore[misc]
    assert isinstance(outcome, Outcome)
    assert hash(outcome) == hash(tally(committee_rules, 2, ballots("2F")))


# Properties over random committees.


@st.composite
def any_rules(draw: st.DrawFn) -> Rules:
    """Any valid rules."""
    kind = draw(st.sampled_from(["count", "share"]))
    value = draw(st.integers(1, 12) if kind == "count" else st.integers(1, 100))
    rule = draw(st.sampled_from(["simple_majority", "two_thirds", "unanimity"]))
    return Rules(kind, value, rule, tie_outcome=draw(st.sampled_from(FALLBACKS)), no_majority_outcome=draw(st.sampled_from(FALLBACKS)))


@st.composite
def any_vote(draw: st.DrawFn) -> tuple[Rules, int, list[str]]:
    """Valid rules, a number of eligible members, and ballots from at most that many of them."""
    eligible = draw(st.integers(0, 12))
    # Few choices per draw make ties and exact thresholds common rather than rare.
    palette = draw(st.lists(st.sampled_from(CHOICES), min_size=1, max_size=5, unique=True))
    return draw(any_rules()), eligible, draw(st.lists(st.sampled_from(palette), max_size=eligible))


def reference(committee_rules: Rules, eligible: int, votes: list[str]) -> tuple[str, str | None]:
    """An independent reading of the rules with exact fractions, to check the integer arithmetic against."""
    share = Fraction(committee_rules.quorum_value, 100)
    needed = committee_rules.quorum_value if committee_rules.quorum_kind == "count" else max(1, ceil(share * eligible))
    if len(votes) < needed:
        return "no_quorum", None
    opinions = Counter(v for v in votes if v != "abstain")
    cast = sum(opinions.values())
    ranked = opinions.most_common()
    if cast == 0:
        fallback = committee_rules.no_majority_outcome
    elif len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        fallback = committee_rules.tie_outcome
    else:
        share = Fraction(ranked[0][1], cast)
        threshold = {"simple_majority": share > Fraction(1, 2), "two_thirds": share >= Fraction(2, 3), "unanimity": share == 1}
        if threshold[committee_rules.decision_rule]:
            return "decided", ranked[0][0]
        fallback = committee_rules.no_majority_outcome
    return ("new_round", None) if fallback == "new_round" else ("decided", fallback)


@settings(max_examples=500, deadline=None)
@given(vote=any_vote())
def test_counts_sum_to_the_ballots(vote: tuple[Rules, int, list[str]]) -> None:
    outcome = tally(*vote)
    assert tuple(outcome.counts) == CHOICES
    assert sum(outcome.counts.values()) == outcome.voted == len(vote[2])
    assert outcome.cast == outcome.voted - outcome.counts["abstain"]


@settings(max_examples=500, deadline=None)
@given(vote=any_vote())
def test_the_decision_is_never_abstain_and_matches_the_result(vote: tuple[Rules, int, list[str]]) -> None:
    outcome = tally(*vote)
    assert outcome.decision != "abstain"
    assert outcome.decision in (*DECISIONS, None)
    assert (outcome.decision is not None) == (outcome.result == "decided")
    assert outcome.quorum_met == (outcome.result != "no_quorum")
    assert outcome.explanation.startswith(f"{outcome.voted} of {outcome.eligible} eligible member")
    assert outcome.explanation.endswith(".")


@settings(max_examples=500, deadline=None)
@given(vote=any_vote())
def test_one_more_ballot_for_the_decision_never_loses_the_quorum(vote: tuple[Rules, int, list[str]]) -> None:
    committee_rules, eligible, votes = vote
    outcome = tally(committee_rules, eligible, votes)
    if outcome.result == "decided" and len(votes) < eligible:
        assert outcome.decision is not None
        assert tally(committee_rules, eligible, [*votes, outcome.decision]).result != "no_quorum"


@settings(max_examples=500, deadline=None)
@given(vote=any_vote(), data=st.data())
def test_the_order_of_ballots_never_matters(vote: tuple[Rules, int, list[str]], data: st.DataObject) -> None:
    committee_rules, eligible, votes = vote
    shuffled = data.draw(st.permutations(votes))
    assert tally(committee_rules, eligible, shuffled) == tally(committee_rules, eligible, votes)


@settings(max_examples=1000, deadline=None)
@given(vote=any_vote())
def test_integer_arithmetic_agrees_with_exact_fractions(vote: tuple[Rules, int, list[str]]) -> None:
    outcome = tally(*vote)
    assert (outcome.result, outcome.decision) == reference(*vote)
