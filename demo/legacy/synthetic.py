"""Made-up people and places for the seed data: nothing here describes a real person.

Names are glued together from syllable lists, SSNs come from the 900-999 area (never issued),
and phone numbers from 555-0100..555-0199 (reserved for fiction). Every function draws only
from the `random.Random` it is given, so the seed stays deterministic.
"""

from __future__ import annotations

from random import Random

_ONSETS = (
    "BRA", "DEL", "KOR", "MAL", "VEL", "TOR", "SAN", "QUIN", "LOM", "RAV", "ZEN", "MOR", "TAL",
    "VIN", "DAR", "FEL", "GOR", "HAL", "JES", "KAL", "LUN", "NOR", "PEL", "ROS", "SOL", "TEM",
    "VAR", "WIL", "YOR", "BEL", "CAR", "DON", "FAR", "GIL", "HOB", "KES", "MAR", "NED", "OST",
)  # fmt: skip
_MIDDLES = ("A", "E", "I", "O", "U", "AN", "EL", "IL", "OV", "UN", "AR", "ES")
_SURNAME_ENDINGS = (
    "SON", "WICK", "TON", "MAN", "LEY", "BERG", "FORD", "RIDGE", "VALE", "MORE", "IN", "ER",
    "OW", "AS", "HURST", "DALE", "KIN", "OTT", "ISH", "ANE",
)  # fmt: skip
_FEMALE_ENDINGS = ("A", "INE", "ELLE", "ETTE", "IA", "ENA", "ORA", "ISSA", "EEN", "Y")
_MALE_ENDINGS = ("O", "AN", "US", "EL", "ER", "IK", "ON", "AS", "EN", "OR")
_STREET_KINDS = ("ST", "AVE", "RD", "LN", "DR", "CT", "WAY", "BLVD")
_CITY_ENDINGS = ("VILLE", "TON", " FALLS", " SPRINGS", "BURG", " HEIGHTS", "FIELD", " CITY")
_STATES = ("MA", "NH", "VT", "ME", "RI", "CT", "NY", "PA", "OH", "MI")
_AREA_CODES = ("201", "312", "413", "508", "603", "617", "716", "802", "860", "978")


def surname(rng: Random) -> str:
    parts = [rng.choice(_ONSETS)]
    if rng.random() < 0.35:
        parts.append(rng.choice(_MIDDLES))
    parts.append(rng.choice(_SURNAME_ENDINGS))
    return "".join(parts)


def given_name(rng: Random, sex_cd: str) -> str:
    if sex_cd == "F":
        ending = _FEMALE_ENDINGS
    elif sex_cd == "M":
        ending = _MALE_ENDINGS
    else:
        ending = rng.choice((_FEMALE_ENDINGS, _MALE_ENDINGS))
    return rng.choice(_ONSETS) + rng.choice(ending)


def ssn(rng: Random) -> str:
    """`9NN-NN-NNNN`: area 900-999 has never been issued as an SSN."""
    return f"{rng.randint(900, 999)}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


def phone(rng: Random) -> str:
    """`(NNN) 555-01NN`, the range reserved for fictional use."""
    return f"({rng.choice(_AREA_CODES)}) 555-01{rng.randint(0, 99):02d}"


def street_address(rng: Random) -> str:
    name = rng.choice(_ONSETS) + rng.choice(_SURNAME_ENDINGS)
    return f"{rng.randint(1, 9999)} {name} {rng.choice(_STREET_KINDS)}"


def city(rng: Random) -> str:
    return (rng.choice(_ONSETS) + rng.choice(_CITY_ENDINGS)).strip()


def state(rng: Random) -> str:
    return rng.choice(_STATES)


def zip_code(rng: Random) -> str:
    return f"{rng.randint(1000, 99999):05d}"
