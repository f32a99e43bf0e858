"""The detectors of `deidentify`: which HIPAA Safe Harbor identifier a field or a string is.

Two ways, both always on. *By name*: the flattened JSON path of a value names its field
(`body.name[0].family`, `body.PAT_DOB`, `header.location`), and the field's words say what it
holds, legacy column names included (`LAST_NM`, `DOB`, `ADDR1`, `ZIP`). A generic leaf
(`value`, `text`) takes its parent's meaning: FHIR's `telecom[0].value` is a phone. *By
pattern*: whatever the field, strings are scanned for e-mail addresses, URLs, IP addresses,
SSNs, phone numbers, dates and MRNs (the MRN shape is the caller's, `DEFAULT_MRN_PATTERN` is the
demo monolith's `M0000123`).

Both detectors err towards finding too much: a code that is not an identifier but looks like
one is replaced by a surrogate, which keeps it comparable; an identifier left out is a leak.
Names inside free text have no pattern, which is why narrative fields (`REASON_TXT`, notes,
messages and errors, descriptions, FHIR's narrative `div`, a `content-disposition` file name)
are replaced whole, and why `deidentify` replaces prose whole in any field. Pure: standard
library only.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Iterator


class Category(enum.Enum):
    NAME = "name"
    DATE = "date"
    AGE = "age"
    SSN = "ssn"
    ID = "id"  # MRNs, record and account numbers, session ids, cookies: any unique code
    PHONE = "phone"
    EMAIL = "email"
    ADDRESS = "address"  # street, city, ZIP; the state is allowed by Safe Harbor and kept
    URL = "url"
    IP = "ip"
    TEXT = "text"  # narrative: replaced whole, names in prose have no pattern


# The words of a field's name, first match wins: `ip_address` is an IP, not an address.
_FIELD_WORDS: tuple[tuple[Category, frozenset[str]], ...] = (
    (Category.IP, frozenset({"ip", "ipv4", "ipv6", "ipaddr", "forwarded", "remoteaddr"})),
    (Category.EMAIL, frozenset({"email", "mail", "emailaddress"})),
    (Category.SSN, frozenset({"ssn", "social", "socialsecurity"})),
    (Category.PHONE, frozenset({"phone", "tel", "telecom", "fax", "mobile", "cell", "pager"})),
    (Category.URL, frozenset({"url", "uri", "link", "href", "ref", "reference", "location",
                              "website", "referer", "referrer", "homepage", "fullurl"})),
    (Category.AGE, frozenset({"age"})),
    (Category.DATE, frozenset({"birth", "dob", "birthdate", "date", "dt", "ts", "time", "tm",
                               "timestamp", "datetime", "updated", "created", "modified", "at",
                               "expires", "death", "deceased", "admitted", "discharged",
                               "admission", "discharge", "lastupdated"})),
    (Category.NAME, frozenset({"name", "nm", "given", "family", "surname", "firstname",
                               "lastname", "fullname", "middlename", "maiden", "display",
                               "login", "username", "alias"})),
    (Category.ADDRESS, frozenset({"address", "addr", "line", "street", "city", "town", "zip",
                                  "zipcode", "postal", "postalcode", "postcode", "county",
                                  "latitude", "longitude", "lat", "lon", "lng", "geo"})),
    (Category.ID, frozenset({"id", "ids", "identifier", "mrn", "patient", "pat",
                             "subject", "person", "uuid", "guid", "account",
                             "acct", "beneficiary", "member", "policy", "license", "licence",
                             "certificate", "serial", "vin", "plate", "npi", "cookie",
                             "authorization", "token", "session", "sess", "pwd", "password",
                             "secret", "etag"})),
    (Category.TEXT, frozenset({"txt", "note", "notes", "comment", "comments", "narrative",
                               "remark", "remarks", "reason", "div", "desc", "descr",
                               "description", "msg", "message", "err", "error", "errors",
                               "detail", "details", "diagnostics", "summary", "title",
                               "disposition", "file", "filename", "html"})),
)  # fmt: skip
# Leaves that mean something through their parent only (FHIR's ContactPoint.value).
_GENERIC_LEAVES = frozenset({"value", "values", "text"})
_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_SEGMENT = re.compile(r"([^.\[]*)((?:\[[^\]]*\])*)")


def path_fields(path: str) -> list[str]:
    """The field names of a flattened path, root first, selectors (`[0]`, `[id=7]`) dropped."""
    return [match.group(1) for match in _segments(path) if match.group(1)]


def _segments(path: str) -> Iterator[re.Match[str]]:
    position = 0
    while position <= len(path):
        match = _SEGMENT.match(path, position)
        if match is None:  # pragma: no cover - the pattern matches the empty string
            return
        yield match
        position = match.end() + 1  # past the "." (or the end)
        if match.end() == len(path):
            return
        if path[match.end()] != ".":  # a stray "]": take the rest as one segment
            position = match.end() + 1


def field_category(name: str) -> Category | None:
    """What a field of this name holds, from its words (`PAT_DOB` -> date, `postalCode` ->
    address), or None for a field that names no identifier."""
    words = [word.lower() for word in _WORDS.findall(name)]
    # A plural names what its singular does (`patientIds`, `notes`).
    plurals = {word[:-1] for word in words if len(word) > 3 and word.endswith("s")}
    candidates = {*words, *plurals, "".join(words)}
    for category, vocabulary in _FIELD_WORDS:
        if candidates & vocabulary:
            return category
    return None


def path_category(path: str) -> Category | None:
    """The category of the value at a flattened path: its leaf's, or for a generic leaf the
    nearest parent's that has one (`body.telecom[0].value` -> phone)."""
    fields = path_fields(path)
    while fields:
        leaf = fields.pop()
        category = field_category(leaf)
        if category is not None:
            return category
        if leaf.lower() not in _GENERIC_LEAVES:
            return None
    return None


DEFAULT_MRN_PATTERN = r"[A-Z][0-9]{7}"
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_TIME = r"[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?(?:z|[+-][0-9]{2}:?[0-9]{2})?"
# Each is a whole token: not glued to letters or digits on either side.
_PATTERNS: tuple[tuple[Category, str], ...] = (
    (Category.URL, r"(?:[a-z][a-z0-9+.-]*://|www\.)[^\s\"'<>]+"),
    (Category.EMAIL, r"[a-z0-9!#$%&'*+/=?^_`{|}~.-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+"),
    (Category.IP, r"(?:[0-9]{1,3}\.){3}[0-9]{1,3}"),
    (Category.DATE, rf"[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}(?:[T ]{_TIME})?"),
    (Category.DATE, r"[0-9]{4}[/.][0-9]{1,2}[/.][0-9]{1,2}"),
    (Category.DATE, r"[0-9]{1,2}[/.-][0-9]{1,2}[/.-][0-9]{2,4}"),
    (Category.DATE, rf"{_MONTH}\s+[0-9]{{1,2}}(?:st|nd|rd|th)?,?\s+[0-9]{{4}}"),
    (Category.DATE, rf"[0-9]{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH}\s+[0-9]{{4}}"),
    (Category.IP, r"[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,6}:(?:[0-9]{1,3}\.){3}[0-9]{1,3}"),
    (Category.IP, r"[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?:%[a-z0-9]+)?"),
    (Category.SSN, r"[0-9]{3}-[0-9]{2}-[0-9]{4}"),
    (Category.PHONE, r"(?:\+?1[\s.-]?)?(?:\([0-9]{3}\)\s?|[0-9]{3}[\s.-])[0-9]{3}[\s.-][0-9]{4}"
                     r"(?:\s?(?:x|ext\.?)\s?[0-9]{1,5})?"),
)  # fmt: skip


class Detector:
    """Finds identifiers in a string by their shape."""

    def __init__(self, mrn_pattern: str = DEFAULT_MRN_PATTERN) -> None:
        try:
            mrn = re.compile(mrn_pattern)
        except re.error as e:
            raise ValueError(f"The MRN pattern {mrn_pattern!r} is not a regex: {e}") from e
        if mrn.match(""):
            raise ValueError(f"The MRN pattern {mrn_pattern!r} matches the empty string.")
        # Group names are the category and a number (`date3`): one regex, one pass per string.
        alternatives = [f"(?P<{c.value}{n}>{pattern})" for n, (c, pattern) in enumerate(_PATTERNS)]
        alternatives.append(f"(?-i:(?P<mrn>{mrn.pattern}))")
        self._any = re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)

    def find(self, text: str) -> Iterator[tuple[int, int, Category]]:
        """(start, end, category) of each identifier in `text`, left to right, not overlapping."""
        position = 0
        while (match := self._any.search(text, position)) is not None:
            group = match.lastgroup or ""
            category = Category.ID if group == "mrn" else Category(group.rstrip("0123456789"))
            if category is Category.IP and not _is_ip(match.group()):
                # `12:30:00` has the shape of an IPv6 address: look again one character on, so
                # what it swallowed (the `192.0.2.1` of a bad `::ffff:1:192.0.2.1`) is seen.
                position = match.start() + 1
                continue
            yield match.start(), match.end(), category
            position = max(match.end(), match.start() + 1)

    def whole(self, text: str) -> Category | None:
        """The category of a string that is one identifier and nothing else."""
        for start, end, category in self.find(text):
            return category if (start, end) == (0, len(text)) else None
        return None


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    return True
