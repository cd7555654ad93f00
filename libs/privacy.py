"""Personal data: encrypted at rest with AES-GCM, shown and logged only masked.

Contact details of affected users and complainants are stored only as ciphertext under the
organization's own key for contacts, derived from CRISISWATCH_DATA_KEY (`libs.data_keys`),
with the row bound in so a ciphertext copied to another row or tenant does not decrypt. Anything
that leaves the process (API answers, timelines, log lines) carries the masked form instead,
the way Chinese customer services print 138****5678.
"""

import logging
import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from libs.contracts.enums import ContactKind
from libs.data_keys import (
    KEY_BYTES,
    KEY_ENV,
    NONCE_BYTES,
    Context,
    DataKey,
    DataKeyError,
    DecryptionError,
    Purpose,
    decrypt,
    encrypt,
    generate_key,
    row_context,
)
from libs.personal_data import Kind, find_personal_data

# The encryption lives in `libs.data_keys`; its names stay importable from here.
__all__ = [
    "KEY_BYTES",
    "KEY_ENV",
    "NONCE_BYTES",
    "ContactError",
    "Context",
    "DataKey",
    "DataKeyError",
    "DecryptionError",
    "MaskingFilter",
    "Purpose",
    "decrypt",
    "encrypt",
    "generate_key",
    "id_card_check_digit",
    "install_masking",
    "mask_contact",
    "mask_email",
    "mask_id_card",
    "mask_landline",
    "mask_name",
    "mask_order_id",
    "mask_other",
    "mask_phone",
    "mask_text",
    "mask_value",
    "normalize_contact",
    "row_context",
]


class ContactError(ValueError):
    """A contact detail does not look like its kind (phone, e-mail, ID card)."""


# --- validation -----------------------------------------------------------------------------

_MAINLAND_MOBILE = re.compile(r"1[3-9]\d{9}")
_INTERNATIONAL = re.compile(r"\+[1-9]\d{6,14}")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_ID_CARD = re.compile(r"\d{17}[\dX]")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_PHONE_SEPARATORS = re.compile(r"[\s\-()]")


def id_card_check_digit(first17: str) -> str:
    """Return the GB 11643 check character of an ID number's first 17 digits."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def normalize_contact(kind: ContactKind, value: str) -> str:
    """Return `value` in its stored form, or raise ContactError saying what is wrong."""
    text = value.strip()
    if not text:
        raise ContactError("contact is empty")
    if kind is ContactKind.PHONE:
        return _normalize_phone(text)
    if kind is ContactKind.EMAIL:
        if not _EMAIL.fullmatch(text):
            raise ContactError("contact is not an e-mail address like name@example.com")
        local, domain = text.rsplit("@", 1)
        return f"{local}@{domain.lower()}"
    if kind is ContactKind.ID_CARD:
        return _normalize_id_card(text)
    return text


def _normalize_phone(text: str) -> str:
    compact = _PHONE_SEPARATORS.sub("", text)
    if compact.startswith("0086"):
        compact = "+86" + compact[4:]
    if _MAINLAND_MOBILE.fullmatch(compact):
        return compact
    if compact.startswith("+86") and _MAINLAND_MOBILE.fullmatch(compact[3:]):
        return compact
    if compact.startswith("+86") and compact[3:4] == "1":
        raise ContactError("contact is not a mainland mobile number (11 digits starting 13–19)")
    if _INTERNATIONAL.fullmatch(compact):
        return compact
    raise ContactError(
        "contact is not a phone number: give a mainland mobile (11 digits starting 13–19) "
        "or +country code and digits"
    )


def _normalize_id_card(text: str) -> str:
    number = text.replace(" ", "").upper()
    if not _ID_CARD.fullmatch(number):
        raise ContactError("contact is not an ID card number: 17 digits and a digit or X")
    try:
        date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError as error:
        raise ContactError("contact has an impossible birth date in its ID card number") from error
    if id_card_check_digit(number[:17]) != number[17]:
        raise ContactError("contact fails the ID card checksum (last character)")
    return number


# --- masking --------------------------------------------------------------------------------

# Chinese compound surnames (复姓) keep both characters when a name is masked.
_COMPOUND_SURNAME_TEXT = """
欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 令狐 夏侯 端木 轩辕
澹台 西门 南宫 独孤 申屠 呼延 闻人 赫连 太史 百里 钟离 万俟 拓跋 濮阳 淳于 单于
公冶 宗政 司空 羊舌 微生 梁丘 左丘 东郭 第五 歐陽 司馬 諸葛 長孫 軒轅 鍾離
"""
_COMPOUND_SURNAMES = frozenset(_COMPOUND_SURNAME_TEXT.split())


def mask_phone(value: str) -> str:
    """Return 138****5678 (or +86 138****5678); other numbers keep only their ends."""
    compact = _PHONE_SEPARATORS.sub("", value)
    if compact.startswith("0086"):
        compact = "+86" + compact[4:]
    if compact.startswith("+86") and len(compact) == 14 and compact[3:].isdigit():
        return f"+86 {compact[3:6]}****{compact[-4:]}"
    if len(compact) == 11 and compact.isdigit():
        return f"{compact[:3]}****{compact[-4:]}"
    lead = "+" if compact.startswith("+") else ""
    digits = compact.lstrip("+")
    if len(digits) <= 7:
        return lead + "*" * max(len(digits) - 2, 0) + digits[-2:]
    return f"{lead}{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"


def mask_email(value: str) -> str:
    """Return l***@example.com: the first character of the local part and the domain."""
    local, at, domain = value.strip().rpartition("@")
    if not at:
        return mask_other(value)
    return f"{local[:1]}***@{domain}"


def mask_id_card(value: str) -> str:
    """Return 110101********1234: region code and last four; the birth date is hidden.

    An old 15-digit number keeps its last three (110101******123), as its last four would
    show a digit of the birth date.
    """
    number = value.strip().upper()
    if len(number) <= 10:
        return "*" * len(number)
    if len(number) == 15:
        return f"{number[:6]}{'*' * 6}{number[-3:]}"
    return f"{number[:6]}{'*' * (len(number) - 10)}{number[-4:]}"


def mask_landline(value: str) -> str:
    """Return 010-****5678: the area code and the last four digits of a fixed line."""
    area, dash, subscriber = value.rpartition("-")
    if not dash:
        return mask_phone(value)
    return f"{area}-{'*' * max(len(subscriber) - 4, 0)}{subscriber[-4:]}"


def mask_order_id(value: str) -> str:
    """Return ************3012: an order number keeps its last four characters.

    Enough for a service desk to tell a customer's orders apart, not enough to look one up.
    """
    number = value.strip()
    if len(number) <= 4:
        return "*" * len(number)
    return "*" * (len(number) - 4) + number[-4:]


def mask_name(value: str) -> str:
    """Return 张* or 欧阳**: the surname stays, every other character becomes *."""
    name = value.strip()
    if len(name) <= 1:
        return "*" * len(name)
    keep = 2 if name[:2] in _COMPOUND_SURNAMES and len(name) > 2 else 1
    return name[:keep] + "".join(" " if char == " " else "*" for char in name[keep:])


def mask_other(value: str) -> str:
    """Return a free-form contact with only its first and last characters."""
    text = value.strip()
    if len(text) <= 2:
        return "*" * len(text)
    return f"{text[0]}{'*' * min(len(text) - 2, 8)}{text[-1]}"


def mask_contact(kind: ContactKind, value: str) -> str:
    """Return the masked form of a contact of `kind`."""
    if kind is ContactKind.PHONE:
        return mask_phone(value)
    if kind is ContactKind.EMAIL:
        return mask_email(value)
    if kind is ContactKind.ID_CARD:
        return mask_id_card(value)
    return mask_other(value)


_MASKS: dict[Kind, Callable[[str], str]] = {
    Kind.EMAIL: mask_email,
    Kind.ID_CARD: mask_id_card,
    Kind.MOBILE: mask_phone,
    Kind.LANDLINE: mask_landline,
    Kind.PHONE: mask_phone,
    Kind.ORDER: mask_order_id,
}


def mask_text(text: str) -> str:
    """Mask every phone number, e-mail address, ID and order number found inside `text`.

    `libs.personal_data` finds them however they are written (full-width, spaced, dotted,
    split by zero-width characters) and confirms each with a validator; each is replaced by
    its masked form and the rest of the text is left exactly as written.
    """
    found = find_personal_data(text)
    if not found:
        return text
    parts: list[str] = []
    done = 0
    for item in found:
        parts.append(text[done : item.start])
        parts.append(_MASKS[item.kind](item.value))
        done = item.end
    parts.append(text[done:])
    return "".join(parts)


def mask_value(value: Any) -> Any:
    """Mask strings inside `value`, walking dicts, lists and tuples (for payloads)."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {key: mask_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(mask_value(item) for item in value)
    return value


# Loggers whose formatter reads `record.args` positionally (uvicorn's access line unpacks
# client, method, path, version and status from it).
_POSITIONAL = frozenset({"uvicorn.access"})


class MaskingFilter(logging.Filter):
    """Rewrites each log record so its message, arguments and traceback are masked.

    The message is formatted once with its arguments and masked as a whole, so numbers passed
    as `%d` arguments or inside objects' reprs are caught as well. Attach it to handlers (see
    `install_masking`): filters on a logger do not see records propagated from child loggers.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask `record` in place; never drops it."""
        if record.name in _POSITIONAL and isinstance(record.args, tuple):
            # Its formatter unpacks the arguments itself: mask each, keep the tuple.
            record.args = tuple(mask_value(arg) for arg in record.args)
            record.msg = mask_text(str(record.msg))
            return True
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = f"{record.msg} {record.args!r}"
        record.msg = mask_text(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True


def install_masking(logger: logging.Logger | None = None) -> MaskingFilter:
    """Attach one MaskingFilter to every handler of `logger` (the root logger by default)."""
    target = logger or logging.getLogger()
    masking = MaskingFilter()
    for handler in target.handlers:
        if not any(isinstance(existing, MaskingFilter) for existing in handler.filters):
            handler.addFilter(masking)
    return masking
