"""Password hashing (argon2id) and the rules a new password must meet."""

from __future__ import annotations

import gzip
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

MIN_LENGTH = 8
MAX_LENGTH = 128  # long passphrases welcome; this only bounds hashing work

_COMMON_FILE = Path(__file__).with_name("common-passwords.txt.gz")


@lru_cache(maxsize=8)
def _hasher(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


def hasher() -> PasswordHasher:
    config = current_app.config
    return _hasher(config["ARGON2_TIME_COST"], config["ARGON2_MEMORY_COST"], config["ARGON2_PARALLELISM"])


def hash_password(password: str) -> str:
    return hasher().hash(password)


@lru_cache(maxsize=8)
def _dummy_hash(params: tuple[int, int, int]) -> str:
    return _hasher(*params).hash("not a real password")


def warm_up() -> None:
    """Make the dummy hash at start, so a worker's first sign-in for an unknown
    address takes no longer than any other."""
    config = current_app.config
    _dummy_hash((config["ARGON2_TIME_COST"], config["ARGON2_MEMORY_COST"], config["ARGON2_PARALLELISM"]))


def check_password(stored_hash: str | None, password: str) -> bool:
    """One hash check, always: against a dummy hash when there is no account,
    so the time taken does not tell whether an address has one."""
    config = current_app.config
    params = (config["ARGON2_TIME_COST"], config["ARGON2_MEMORY_COST"], config["ARGON2_PARALLELISM"])
    target = stored_hash or _dummy_hash(params)
    try:
        ok = hasher().verify(target, password)
    except (VerificationError, InvalidHashError):
        return False
    return ok and stored_hash is not None


def needs_rehash(stored_hash: str) -> bool:
    return hasher().check_needs_rehash(stored_hash)


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """Django's list of the 20,000 most common passwords (see the NOTICE)."""
    with gzip.open(_COMMON_FILE, "rt", encoding="utf-8") as f:
        return frozenset(line.strip().lower() for line in f if line.strip())


def is_common(password: str) -> bool:
    return password.strip().lower() in common_passwords()
