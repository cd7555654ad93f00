"""Where personal data sits in free text: phone numbers, e-mail addresses, ID and order numbers.

People write a phone number in many ways (138.2001.0001, 1382 002 0002, +86 (138)…, with
full-width digits from a Chinese input method, or with zero-width characters pasted in
between), so a pattern for one way lets the others through. Here the text is folded first
(full-width to ASCII, 。 to ., invisible characters dropped), candidates are found in the
folded text with wide patterns, and each is confirmed by a maintained validator: phonenumbers
for phones, python-stdnum's cn.ric for 身份证 (check character, birth date, province),
email-validator for the domain of an address (syntax only, no DNS). So dates, amounts,
versions and order numbers that merely have a phone's length stay as written. Positions are
reported in the original text, so a caller replaces only the number and leaves the rest
untouched.

What is not found: landlines written without their area code (7–8 digits look like too many
other things), and the companies' own service lines (400/800, premium and shared-cost
numbers), which identify no person.
"""

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache, lru_cache

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from phonenumbers import NumberParseException, PhoneNumberType
from stdnum import numdb
from stdnum.cn import ric
from stdnum.exceptions import ValidationError


class Kind(StrEnum):
    """What a found span is, which decides how it is masked."""

    EMAIL = "email"
    ID_CARD = "id_card"
    MOBILE = "mobile"  # a mainland mobile: 13800135678, or +8613800135678 if written so
    LANDLINE = "landline"  # a mainland fixed line with its area code: 010-12345678
    PHONE = "phone"  # another country's number, E.164: +447911123456
    ORDER = "order"  # the number after 订单号, order_id… as written


@dataclass(frozen=True, slots=True)
class Found:
    """One piece of personal data: `text[start:end]` of the original, and its plain form."""

    kind: Kind
    start: int
    end: int
    value: str


# --- folding ----------------------------------------------------------------------------------

# Invisible characters that split a number without showing: zero-width space, joiners,
# direction marks, word joiner and invisible operators, BOM, soft hyphen.
_INVISIBLE = "\u00ad\u180e\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff"
_FOLD: dict[int, int | str | None] = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_FOLD.update({0x3000: " ", 0x00A0: " ", 0x3002: ".", 0xFF61: "."})
_FOLD.update(dict.fromkeys(map(ord, _INVISIBLE)))
# Folding is needed only where a full-width letter, digit, ＋ or ＠, or an invisible character
# is present (or 。 beside an @): the full-width brackets, dashes and spaces that Chinese
# prose is full of are separators of numbers as they are, so most texts are scanned unchanged.
_NEEDS_FOLDING = re.compile(f"[\uff0b\uff0e\uff10-\uff19\uff20-\uff3a\uff41-\uff5a{_INVISIBLE}]")
# Nothing to find in a text without a digit or an @ (in either width).
_MAY_HOLD = re.compile("[0-9@\uff10-\uff19\uff20]")


def _fold(text: str) -> tuple[str, list[int] | None]:
    """Return the folded text and, if characters were dropped, each folded character's origin."""
    if not _NEEDS_FOLDING.search(text) and not ("@" in text and "\u3002" in text):
        return text, None
    folded = text.translate(_FOLD)
    if len(folded) == len(text):
        return folded, None
    return folded, [index for index, char in enumerate(text) if char not in _INVISIBLE]


# --- candidates -------------------------------------------------------------------------------

# Ids the system itself prints (UUIDs, hashes, trace ids) are never personal data, however
# many digits they hold: they are claimed first so no number is found inside them.
_SYSTEM_ID = re.compile(
    r"(?<![0-9A-Za-z])(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|(?=[0-9]*[a-fA-F])[0-9a-fA-F]{16,})(?![0-9A-Za-z])"
)
# Starting only where a run of address characters starts keeps the search linear: without
# the look-behind every position inside services.ingest.complaints… is tried again up to @.
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
# An order number is personal where it is labelled as one: 订单号：TM2026…, order_id=…
_ORDER_LABEL = ("单", "order", "Order", "ORDER")
_ORDER = re.compile(
    r"(?:订单编号|订单号码|订单号|订单|单号"
    r"|(?<![A-Za-z])(?i:order)(?:[ _-]?(?i:id|no|number|num))?(?![A-Za-z]))"
    r"\.?\s*[\"']?\s*[:=#：]?\s*[\"']?\s*(?:是|为)?\s*"
    r"(?P<number>(?=[A-Za-z_-]*[0-9])[A-Za-z0-9][A-Za-z0-9_-]{5,63})"
)
_DATE_LIKE = re.compile(r"(?:19|20)\d\d(?:[-./]?\d{1,2}){2}")
# Digit groups joined by up to three separators people put inside numbers (in either width);
# X may end a group (the check character of an ID number). A run starts at a digit followed
# by at least seven more of its characters, so the many short numbers of ordinary text (18%,
# 4.2万, 2026年12月) are passed over inside the regular expression engine.
_SEPARATORS = " \t.()·\u00a0\u2010-\u2015\u2212\u3000\u3002\uff08\uff09\uff0d\uff0e-"
_SEPARATOR_CLASS = f"[{_SEPARATORS}]"
_GROUP = r"[0-9]+(?:[Xx](?![A-Za-z]))?"
_SEQUENCE = re.compile(
    rf"[0-9](?=[0-9Xx{_SEPARATORS}]{{7}})[0-9]*(?:[Xx](?![A-Za-z]))?"
    rf"(?:{_SEPARATOR_CLASS}{{1,3}}{_GROUP})*"
)
_LEAD = "(+\uff08"  # what may open a number: +86…, (0755)…, （138）…
_CLOSE = ")\uff09"
_GROUP_ONLY = re.compile(_GROUP)
_ID_18 = re.compile(r"[1-8]\d{5}(?:18|19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dX]")
_ID_15 = re.compile(r"[1-8]\d{5}\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}")
# Service lines of companies (400, 800, 95xxx…), not of a person.
_SERVICE_LINES = frozenset(
    {
        PhoneNumberType.TOLL_FREE,
        PhoneNumberType.SHARED_COST,
        PhoneNumberType.PREMIUM_RATE,
        PhoneNumberType.UAN,
        PhoneNumberType.VOICEMAIL,
    }
)
_NOT_DIGIT = re.compile(r"[^0-9]")
_PLAUSIBLE_DIGITS = re.compile(r"1[3-9][0-9]{9}|0[0-9]{9}|[1-8][0-9]{14}")
_MOST_DIGITS = 18  # an ID number; no phone is longer than 15


def find_personal_data(text: str) -> list[Found]:
    """Return every phone number, e-mail address, ID and order number in `text`, in order."""
    if not text or not _MAY_HOLD.search(text):
        return []
    folded, origin = _fold(text)
    claims = _Claims(folded)
    if "@" in folded:
        for match in _EMAIL.finditer(folded):
            domain = match.group().rpartition("@")[2]
            if claims.free(*match.span()) and _is_mail_domain(domain):
                claims.claim(*match.span(), Kind.EMAIL, match.group())
    labelled = any(label in folded for label in _ORDER_LABEL)
    for match in _ORDER.finditer(folded) if labelled else ():
        number = match.group("number")
        if (
            len(_NOT_DIGIT.sub("", number)) >= 4
            and not _DATE_LIKE.fullmatch(number)
            and claims.free(*match.span("number"))
        ):
            claims.claim(*match.span("number"), Kind.ORDER, number)
    for match in _SEQUENCE.finditer(folded):
        lead = match.start()
        while lead > 0 and lead > match.start() - 2 and folded[lead - 1] in _LEAD:
            lead -= 1
        plus = "+" in folded[lead : match.start()]
        if _may_hold_number(match.group(), plus):
            for start, end, kind, value in _numbers_in(match, folded[lead : match.start()]):
                if claims.free(start, end):
                    claims.claim(start, end, kind, value)

    found = sorted(claims.found)
    if origin is None:
        return [Found(kind, start, end, value) for start, end, kind, value in found]
    return [
        Found(kind, origin[start], origin[end - 1] + 1, value) for start, end, kind, value in found
    ]


class _Claims:
    """The spans of the folded text already taken, and what was found in them.

    The system's own ids are taken first, but looked for only when a candidate needs the
    answer: most log lines have none.
    """

    def __init__(self, folded: str) -> None:
        self.folded = folded
        self.taken: list[tuple[int, int]] | None = None
        self.found: list[tuple[int, int, Kind, str]] = []

    def free(self, start: int, end: int) -> bool:
        """Whether nothing overlapping `start`..`end` was taken yet."""
        if self.taken is None:
            self.taken = [match.span() for match in _SYSTEM_ID.finditer(self.folded)]
        return all(
            end <= taken_start or start >= taken_end for taken_start, taken_end in self.taken
        )

    def claim(self, start: int, end: int, kind: Kind, value: str) -> None:
        """Take `start`..`end` for a found `kind`."""
        if self.taken is None:
            self.taken = []
        self.taken.append((start, end))
        self.found.append((start, end, kind, value))


def _may_hold_number(sequence: str, plus: bool) -> bool:
    """Whether a run of digit groups could hold a phone or ID number: a test in C, no parsing.

    Every number looked for has, among its digits in a row, a mobile (1[3-9] and nine more),
    a landline with its area code (0 and nine more) or 15 digits of an ID number; a number
    written with + is looked at whenever it has enough digits for any country.
    """
    digits = _NOT_DIGIT.sub("", sequence)
    if plus:
        return len(digits) >= 7
    return _PLAUSIBLE_DIGITS.search(digits) is not None


@lru_cache(maxsize=1024)
def _is_mail_domain(domain: str) -> bool:
    """Whether email-validator takes `domain` for a mail domain (syntax only, no DNS look-up).

    Only the domain decides: a local part typed wrong (li..lei@, .li@) is still somebody's
    address and is masked all the same. Reserved names (.local, .invalid, .onion) are not
    addresses anyone receives mail at. Domains repeat (qq.com, 163.com), hence the cache.
    """
    try:
        validate_email(f"x@{domain}", check_deliverability=False, test_environment=True)
    except EmailNotValidError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class _Group:
    start: int
    end: int
    digits: str
    before: str  # the separators between the previous group and this one ("" for the first)


def _numbers_in(sequence: re.Match[str], lead: str) -> list[tuple[int, int, Kind, str]]:
    """Return the phone and ID numbers in one run of digit groups, longest first from the left.

    A number is a window of whole groups (a group is never split: 2025030112345678901 holds
    no phone). From each group the longest window that validates wins, and the search goes on
    after it. `lead` is what opens the run (+, a bracket), just before it.
    """
    base = sequence.start()
    text = sequence.group()
    plus = "+" in lead
    groups: list[_Group] = []
    previous_end = 0
    for match in _GROUP_ONLY.finditer(text):
        groups.append(
            _Group(
                base + match.start(),
                base + match.end(),
                match.group().upper(),
                text[previous_end : match.start()] if groups else "",
            )
        )
        previous_end = match.end()
    numbers: list[tuple[int, int, Kind, str]] = []
    first = 0
    while first < len(groups):
        best = _longest_number(groups, first, plus and first == 0)
        if best is None:
            first += 1
            continue
        last, kind, value = best
        start = groups[first].start
        if first == 0 and plus:
            start = base - len(lead) + lead.index("+")  # +86 138… is masked as a whole
        if first == 0 and any(char in _CLOSE for g in groups[1 : last + 1] for char in g.before):
            start = base - len(lead)  # (0755)8888 8888: the bracket closes inside the number
        numbers.append((start, groups[last].end, kind, value))
        first = last + 1
    return numbers


def _longest_number(groups: list[_Group], first: int, plus: bool) -> tuple[int, Kind, str] | None:
    """Return the last group, kind and value of the longest number starting at `first`."""
    best: tuple[int, Kind, str] | None = None
    digits = ""
    for last in range(first, len(groups)):
        group = groups[last].digits
        if "X" in digits:
            break
        digits += group
        if len(digits) > _MOST_DIGITS:
            break
        if len(digits) in (15, 18) and (
            last == first or all(len(g.digits) >= 2 for g in groups[first : last + 1])
        ):
            number = _id_card(digits)
            if number is not None:
                best = (last, Kind.ID_CARD, number)
                continue
        if "X" in group or not _phone_grouping(groups, first, last, plus):
            continue
        phone = _phone(digits, plus)
        if phone is not None:
            best = (last, *phone)
    return best


def _phone_grouping(groups: list[_Group], first: int, last: int, plus: bool) -> bool:
    """Whether groups `first`..`last` are split the way phone numbers are written.

    Every group but a leading country code and the area code after it has at least three
    digits (138 2001 0001, 0755 8888 8888, +86 138…, +86 21 6123 4567), so a version such as
    13.8.2001.0001 is not read as a phone, nor is the tail of 1.138.2001.0001; and a number
    does not stop right before a `.digits` tail (13800135678.50 is an amount). A whole group
    after a dot is still a phone: in `1.13800135678` the 1. numbers a list.
    """
    if last > first and first > 0 and groups[first].before == ".":
        return False
    leading = groups[first].digits
    country = plus or leading in ("86", "0086")
    if len(leading) < 3 and not country:
        return False
    for position in range(first + 1, last + 1):
        shortest = 2 if country and position == first + 1 else 3  # +86 21 6123 4567
        if len(groups[position].digits) < shortest:
            return False
    return not (last + 1 < len(groups) and groups[last + 1].before == ".")


def _phone(digits: str, plus: bool) -> tuple[Kind, str] | None:
    """Return the kind and plain form of a phone number, or None if it is not a person's.

    A cheap test of the shape comes first; phonenumbers then says whether the number exists
    in its country's numbering plan. A mainland number is handed to it already split
    (country code 86 and the national number), which spares the parsing that costs most.
    """
    if plus and not digits.startswith("86"):
        return _international("+" + digits)
    if digits.startswith("00") and not digits.startswith("0086"):
        return _international("+" + digits[2:]) if len(digits) >= 10 else None
    if plus or digits.startswith("0086") or (digits.startswith("861") and len(digits) == 13):
        national = digits.removeprefix("00")[2:]
        national = national[1:] if national.startswith("0") else national  # +86 010…
        written_with_country_code = True
    elif len(digits) == 11 and digits[0] == "1" and digits[1] in "3456789":
        national, written_with_country_code = digits, False
    elif digits[0] == "0" and 10 <= len(digits) <= 12:
        national, written_with_country_code = digits[1:], False
    else:
        return None
    if not 7 <= len(national) <= 11 or national[0] == "0":
        return None
    number = phonenumbers.PhoneNumber(country_code=86, national_number=int(national))
    kind = phonenumbers.number_type(number)
    if kind == PhoneNumberType.UNKNOWN or kind in _SERVICE_LINES:
        return None
    if kind == PhoneNumberType.MOBILE or (len(national) == 11 and national[0] == "1"):
        return Kind.MOBILE, ("+86" + national) if written_with_country_code else national
    area = phonenumbers.length_of_geographical_area_code(number) or 2
    return Kind.LANDLINE, f"0{national[:area]}-{national[area:]}"


def _international(written: str) -> tuple[Kind, str] | None:
    """Return another country's number in E.164, if phonenumbers finds it valid."""
    try:
        number = phonenumbers.parse(written)
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    if phonenumbers.number_type(number) in _SERVICE_LINES:
        return None
    return Kind.PHONE, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _id_card(digits: str) -> str | None:
    """Return an 18- or old 15-digit 身份证 number as written, if it is one.

    python-stdnum's cn.ric gives the GB 11643 check character and the birth date; the first
    two digits must name a province in its register. Its full `is_valid` is not used: it also
    refuses a district code younger than the birth year, and real numbers have those (people
    born before 1992 registered in Pudong carry 310115), so a real number would go unmasked.
    The 15-digit form (before 1999) has no check character and a two-digit year: it is
    widened to 18 digits (19 before the year) so its birth date is checked all the same.
    """
    if len(digits) == 18 and _ID_18.fullmatch(digits):
        number = digits
        if ric.calc_check_digit(number) != number[-1]:
            return None
    elif len(digits) == 15 and _ID_15.fullmatch(digits):
        number = digits[:6] + "19" + digits[6:] + "0"
    else:
        return None
    try:
        ric.get_birth_date(number)
    except ValidationError:
        return None
    return digits if _in_a_province(number[:2]) else None


@cache
def _in_a_province(province: str) -> bool:
    """Whether python-stdnum's register of regions knows `province` (two digits: 31)."""
    return any(props.get("province") for _, props in numdb.get("cn/loc").info(province))
