"""Subject identifiers: validation and keyed hashing, so no raw reference is ever stored."""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from enum import StrEnum


class IdentifierScheme(StrEnum):
    agency_local = "agency_local"
    nhs_number = "nhs_number"


_NHS_SHAPE = re.compile(r"^\d{10}$")


def normalise_nhs_number(value: str) -> str:
    """Digits only; raise ValueError when not ten digits with a valid Modulus 11 check digit."""
    digits = re.sub(r"[\s-]", "", value)
    if not _NHS_SHAPE.match(digits):
        raise ValueError("an NHS number is ten digits")
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - (total % 11)
    if check == 11:
        check = 0
    if check == 10 or check != int(digits[9]):
        raise ValueError("the NHS number's check digit is not valid")
    return digits


def normalise(scheme: IdentifierScheme, value: str) -> str:
    if scheme is IdentifierScheme.nhs_number:
        return normalise_nhs_number(value)
    value = value.strip()
    if not value or len(value) > 100:
        raise ValueError("an agency reference is 1 to 100 characters")
    return value


def subject_digest(secret: str, scheme: IdentifierScheme, value: str, agency_id: uuid.UUID) -> str:
    """HMAC-SHA256 of the normalised identifier.

    `agency_local` is scoped to the calling agency (two agencies' reference 123 differ);
    `nhs_number` is shared so every agency posting it reaches the same case.
    """
    scope = str(agency_id) if scheme is IdentifierScheme.agency_local else "*"
    message = f"{scheme.value}\x1f{scope}\x1f{normalise(scheme, value)}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
