"""Agents' password hashes: salted scrypt, checked in constant time, never the password."""

from __future__ import annotations

from core.team.passwords import hash_password, verify_password


def test_the_right_password_matches_and_a_wrong_one_does_not() -> None:
    stored = hash_password("correct horse")
    assert verify_password("correct horse", stored)
    assert not verify_password("correct hors", stored)
    assert not verify_password("", stored)


def test_hashes_are_salted_and_never_hold_the_password() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first != second and first.startswith("scrypt$")
    assert "correct horse" not in first


def test_no_hash_or_a_malformed_one_never_matches() -> None:
    assert not verify_password("anything", None)
    assert not verify_password("anything", "")
    assert not verify_password("anything", "scrypt$oops")
    assert not verify_password("anything", "bcrypt$1$2$3$abc$def")
