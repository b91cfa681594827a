"""The result rules on worked examples: plain functions, no database."""

from app.talk.rules import Given, OptionTally, decide, decide_poll, quorum_met, sentence


def given(*choices, reason="because"):
    return [Given(c, reason if c in ("object", "block") else "", f"P{i}") for i, c in enumerate(choices)]


def test_quorum_counts_positions_given_out_of_members_at_opening():
    # 12 members when it opened; 9 took part; quorum 50%: 9*100 >= 50*12.
    result = decide("consensus", 12, given(*["agree"] * 7, "abstain", "disagree"), quorum=50)
    assert result.passed
    assert sentence(result) == "passed: 9 of 12 took part, quorum 50%, no blocks"


def test_below_quorum_does_not_pass_even_if_everyone_agrees():
    result = decide("consensus", 12, given("agree", "agree", "agree", "agree", "agree"), quorum=50)
    assert not result.passed and result.why == "no_quorum"
    assert sentence(result) == "not passed: 5 of 12 took part, below the quorum of 50%"


def test_quorum_rounds_up_half_people():
    assert not quorum_met(2, 5, 50)  # 2.5 needed: 2 is not enough
    assert quorum_met(3, 5, 50)
    assert quorum_met(0, 0, None)


def test_one_block_stops_consensus_and_is_named_with_its_reason():
    result = decide("consensus", 6, [Given("agree", "", "Ada"), Given("agree", "", "Bruno"),
                                     Given("block", "It floods there.", "Chiara")], quorum=None)
    assert not result.passed and result.why == "blocked"
    assert result.stopping == [["Chiara", "It floods there."]]
    assert sentence(result) == "not passed: blocked by 1, with reasons"


def test_consent_passes_without_objections_and_fails_with_one():
    assert decide("consent", 4, given("consent", "consent")).passed
    assert sentence(decide("consent", 4, given("consent", "consent"), 50)) == \
        "passed: 2 of 4 took part, quorum 50%, no objections"
    objected = decide("consent", 4, given("consent", "object"))
    assert not objected.passed
    assert sentence(objected) == "not passed: 1 objection, with reasons"


def test_a_tie_does_not_pass():
    result = decide("consensus", 6, given("agree", "agree", "disagree", "disagree", "abstain"))
    assert not result.passed and result.why == "tie"
    assert sentence(result) == "not passed: a tie, 2 agree and 2 disagree"


def test_more_disagree_than_agree_does_not_pass():
    result = decide("consensus", 6, given("agree", "disagree", "disagree"))
    assert not result.passed and result.why == "more_disagree"


def test_only_abstentions_do_not_pass():
    result = decide("consensus", 6, given("abstain", "abstain"))
    assert not result.passed and result.why == "nobody_agreed"


def test_nobody_took_part():
    for kind in ("consent", "consensus"):
        result = decide(kind, 8, [], quorum=None)
        assert not result.passed and result.why == "nobody"
        assert sentence(result) == "not passed: nobody took part"
    poll = decide_poll(8, [OptionTally(1), OptionTally(2)], 0)
    assert not poll.passed and poll.chosen is None


def test_time_poll_chooses_most_who_can_come_then_most_yes_then_earliest():
    options = [OptionTally(1, yes=2, maybe=2), OptionTally(2, yes=3, maybe=1), OptionTally(3, yes=1, maybe=1)]
    assert decide_poll(6, options, 5).chosen == 2  # 4 can come to 1 and 2; 2 has more yes
    tie = [OptionTally(10, yes=2), OptionTally(11, yes=2)]
    assert decide_poll(6, tie, 2).chosen == 10  # a full tie: the earlier time
    nobody_can = [OptionTally(1, no=3), OptionTally(2, no=3)]
    result = decide_poll(6, nobody_can, 3)
    assert not result.passed and result.why == "no_time"


def test_result_survives_being_recorded():
    from app.talk.rules import Result

    result = decide("consensus", 5, given("agree", "block"), 20)
    assert Result.from_dict(result.as_dict()) == result
