"""Splitting a meal's costs: pure functions on whole minor units (cents).

Each share is equal per portion eaten (counted in halves: a child's half
portion costs half), rounded by largest remainder so the shares add up to the
total exactly; then who pays whom, in fewer transfers than people.
"""

from __future__ import annotations

from babel.numbers import get_currency_precision


def decimals(currency: str) -> int:
    """How many decimals the currency's minor unit has (EUR 2, JPY 0, KWD 3)."""
    return get_currency_precision(currency)


def shares(total: int, weights: dict) -> dict:
    """``total`` split in proportion to ``weights`` ({who: halves}), each
    share a whole number, all adding up to ``total``: everyone gets the floor
    of their exact share, and the units left over go one each to the largest
    remainders (ties: in the order given). Weights of 0 pay nothing.

    :raise ValueError: a negative total or weight, or no weight at all while
        there is something to share.
    """
    if total < 0 or any(w < 0 for w in weights.values()):
        raise ValueError("negative total or weight")
    whole = sum(weights.values())
    if whole == 0:
        if total:
            raise ValueError("nobody to share with")
        return {who: 0 for who in weights}
    floors = {who: total * w // whole for who, w in weights.items()}
    left = total - sum(floors.values())
    order = sorted(weights, key=lambda who: -(total * weights[who] % whole))  # stable: ties keep order
    for who in order[:left]:
        floors[who] += 1
    return floors


def transfers(balances: dict) -> list[tuple]:
    """Who pays whom: ``balances`` are {who: paid - share}, adding up to 0.
    Each step the one who owes most pays the one owed most as much as settles
    one of them, so there are at most (people with a balance) - 1 transfers.
    Returns [(payer, payee, amount)], amounts positive."""
    if sum(balances.values()) != 0:
        raise ValueError("balances do not add up to zero")
    owing = {who: -b for who, b in balances.items() if b < 0}
    owed = {who: b for who, b in balances.items() if b > 0}
    order = {who: i for i, who in enumerate(balances)}
    result = []
    while owing:
        payer = max(owing, key=lambda w: (owing[w], -order[w]))
        payee = max(owed, key=lambda w: (owed[w], -order[w]))
        amount = min(owing[payer], owed[payee])
        result.append((payer, payee, amount))
        for side, who in ((owing, payer), (owed, payee)):
            side[who] -= amount
            if side[who] == 0:
                del side[who]
    return result


def parse_amount(text: str, currency: str) -> int:
    """"31.50" (or "31,50") in whole minor units: 3150 for EUR.

    :raise ValueError: not a plain positive amount with at most the
        currency's decimals.
    """
    text = (text or "").strip().replace(",", ".")
    places = decimals(currency)
    if not text or text.count(".") > 1 or len(text) > 20:
        raise ValueError("not an amount")
    major, _, minor = text.partition(".")
    if not (major or minor) or not (major.isascii() and (major.isdigit() or major == "")) \
            or not (minor.isascii() and (minor.isdigit() or minor == "")):
        raise ValueError("not an amount")
    if len(minor) > places:
        raise ValueError("too many decimals")
    return int(major or "0") * 10 ** places + int((minor or "0").ljust(places, "0") or "0")


def format_amount(minor: int, currency: str, locale: str = "en") -> str:
    from babel.numbers import format_currency
    places = decimals(currency)
    from decimal import Decimal
    return format_currency(Decimal(minor).scaleb(-places), currency, locale=locale)
