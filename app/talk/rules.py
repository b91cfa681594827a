"""How a proposal is decided: plain functions of the positions given, tested
on worked examples (tests/test_talk_rules.py). They never touch the database.

- Quorum is counted on positions actually given, out of the members at the
  moment the proposal opened (not people invited, not members now).
- Consent passes when the quorum is met and nobody objects.
- Consensus passes when the quorum is met, nobody blocks, and more agree than
  disagree (a tie does not pass).
- A time poll chooses the time most people can make (yes or "if need be"),
  then the one with most yes, then the earliest.
- Nobody taking part never passes anything.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..i18n import _, ngettext


@dataclass(frozen=True)
class Given:
    """A position as the rule sees it."""
    choice: str
    reason: str = ""
    name: str = ""


@dataclass(frozen=True)
class OptionTally:
    option_id: int
    yes: int = 0
    maybe: int = 0
    no: int = 0


@dataclass
class Result:
    kind: str
    passed: bool
    why: str  # passed, nobody, no_quorum, blocked, objected, tie, nobody_agreed, more_disagree, no_time
    took_part: int
    members: int
    quorum: int | None
    counts: dict[str, int] = field(default_factory=dict)
    # (name, reason) of each objection or block: said at close, with reasons.
    stopping: list[list[str]] = field(default_factory=list)
    chosen: int | None = None  # a time poll's option id

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Result":
        return cls(**data)


def quorum_met(took_part: int, members: int, quorum: int | None) -> bool:
    """``quorum`` percent of ``members`` (those at opening) gave a position.
    Whole numbers only, so 50% of 5 needs 3 (2.5 rounded up)."""
    if quorum is None:
        return True
    return took_part * 100 >= quorum * members


def decide(kind: str, members: int, positions: list[Given], quorum: int | None = None) -> Result:
    """The result of a consent or consensus proposal from the positions given."""
    took_part = len(positions)
    counts: dict[str, int] = {}
    for p in positions:
        counts[p.choice] = counts.get(p.choice, 0) + 1
    stopping = sorted([p.name, p.reason] for p in positions if p.choice in ("object", "block"))
    result = Result(kind, False, "", took_part, members, quorum, counts, stopping)
    if took_part == 0:
        result.why = "nobody"
    elif not quorum_met(took_part, members, quorum):
        result.why = "no_quorum"
    elif stopping:
        result.why = "blocked" if kind == "consensus" else "objected"
    elif kind == "consensus":
        agree, disagree = counts.get("agree", 0), counts.get("disagree", 0)
        if agree == 0:
            result.why = "nobody_agreed"
        elif agree == disagree:
            result.why = "tie"
        elif agree < disagree:
            result.why = "more_disagree"
        else:
            result.passed, result.why = True, "passed"
    else:
        result.passed, result.why = True, "passed"
    return result


def decide_poll(members: int, options: list[OptionTally], took_part: int, quorum: int | None = None) -> Result:
    """The result of a time poll: the chosen option, if any. ``options`` in
    time order; ``took_part`` is how many people answered at least one."""
    counts = {"took_part": took_part}
    result = Result("time_poll", False, "", took_part, members, quorum, counts)
    best = None
    for index, option in enumerate(options):
        key = (option.yes + option.maybe, option.yes, -index)
        if option.yes + option.maybe > 0 and (best is None or key > best[0]):
            best = (key, option)
    if took_part == 0:
        result.why = "nobody"
    elif not quorum_met(took_part, members, quorum):
        result.why = "no_quorum"
    elif best is None:
        result.why = "no_time"
    else:
        result.passed, result.why, result.chosen = True, "passed", best[1].option_id
    return result


def sentence(result: Result) -> str:
    """Why it passed or not, in one line: "passed: 9 of 12 took part, quorum
    50%, no blocks"; "not passed: blocked by 1, with reasons"."""
    took = _("%(n)s of %(m)s took part", n=result.took_part, m=result.members)
    quorum = _("quorum %(q)s%%", q=result.quorum) if result.quorum else _("no quorum set")
    blocks = len(result.stopping)
    if result.why == "passed":
        if result.kind == "consensus":
            return _("passed: %(took)s, %(quorum)s, no blocks", took=took, quorum=quorum)
        if result.kind == "consent":
            return _("passed: %(took)s, %(quorum)s, no objections", took=took, quorum=quorum)
        return _("a time was found: %(took)s, %(quorum)s", took=took, quorum=quorum)
    if result.why == "nobody":
        return _("not passed: nobody took part")
    if result.why == "no_quorum":
        return _("not passed: %(took)s, below the quorum of %(q)s%%", took=took, q=result.quorum)
    if result.why == "blocked":
        return ngettext("not passed: blocked by %(num)s, with reasons", "not passed: blocked by %(num)s, with reasons",
                        blocks)
    if result.why == "objected":
        return ngettext("not passed: %(num)s objection, with reasons", "not passed: %(num)s objections, with reasons",
                        blocks)
    agree, disagree = result.counts.get("agree", 0), result.counts.get("disagree", 0)
    if result.why == "tie":
        return _("not passed: a tie, %(a)s agree and %(d)s disagree", a=agree, d=disagree)
    if result.why == "nobody_agreed":
        return _("not passed: nobody agreed (%(took)s)", took=took)
    if result.why == "more_disagree":
        return _("not passed: %(d)s disagree, %(a)s agree", a=agree, d=disagree)
    return _("no time found: nobody can make any of them")
