"""Encryption of personal data at rest, contact validation, and masking in text and logs."""

import base64
import logging
import uuid

import pytest

from libs.contracts.enums import ContactKind
from libs.privacy import (
    ContactError,
    DataKey,
    DataKeyError,
    DecryptionError,
    MaskingFilter,
    Purpose,
    decrypt,
    encrypt,
    generate_key,
    id_card_check_digit,
    mask_contact,
    mask_email,
    mask_id_card,
    mask_name,
    mask_phone,
    mask_text,
    mask_value,
    normalize_contact,
    row_context,
)
from libs.settings import Settings

ID_CARD = "11010519491231002X"  # the GB 11643 sample number, valid checksum
ORG = uuid.UUID("00000000-0000-4000-8000-000000000001")
ROW = uuid.UUID("00000000-0000-4000-8000-000000000002")
PURPOSE = Purpose.AFFECTED_USER_CONTACT


@pytest.fixture
def key() -> DataKey:
    return DataKey.from_base64(generate_key())


def test_round_trip_with_unicode_and_a_fresh_nonce_each_time(key: DataKey) -> None:
    context = row_context(ORG, ROW, PURPOSE)
    first = encrypt(key, "张三 13800135678", context)
    second = encrypt(key, "张三 13800135678", context)
    assert first != second  # random nonce: equal values do not look equal at rest
    assert b"13800135678" not in first
    assert decrypt(key, first, context) == "张三 13800135678"
    assert decrypt(key, second, context) == "张三 13800135678"


def test_a_ciphertext_moved_to_another_row_or_org_does_not_decrypt(key: DataKey) -> None:
    blob = encrypt(key, "13800135678", row_context(ORG, ROW, PURPOSE))
    with pytest.raises(DecryptionError):
        decrypt(key, blob, row_context(ORG, uuid.uuid4(), PURPOSE))
    with pytest.raises(DecryptionError):
        decrypt(key, blob, row_context(uuid.uuid4(), ROW, PURPOSE))


def test_tampered_ciphertext_and_another_key_fail(key: DataKey) -> None:
    context = row_context(ORG, ROW, PURPOSE)
    blob = bytearray(encrypt(key, "13800135678", context))
    blob[-1] ^= 0x01
    with pytest.raises(DecryptionError):
        decrypt(key, bytes(blob), context)
    with pytest.raises(DecryptionError):
        decrypt(DataKey.from_base64(generate_key()), encrypt(key, "x", context), context)
    with pytest.raises(DecryptionError):
        decrypt(key, b"\x01short", context)


def test_key_from_settings_names_the_variable_when_missing_or_malformed() -> None:
    with pytest.raises(DataKeyError, match="CRISISWATCH_DATA_KEY is not set"):
        DataKey.from_settings(Settings(data_key=None))
    with pytest.raises(DataKeyError, match="CRISISWATCH_DATA_KEY is not valid base64"):
        DataKey.from_settings(Settings(data_key="not base64 at all!"))
    short = base64.b64encode(b"0" * 16).decode()
    with pytest.raises(DataKeyError, match="CRISISWATCH_DATA_KEY must be base64 of 32"):
        DataKey.from_settings(Settings(data_key=short))
    text = generate_key()
    key = DataKey.from_settings(Settings(data_key=text))
    assert key.secret == base64.b64decode(text)
    assert text not in repr(key) and "secret" not in repr(key)


def test_key_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    text = generate_key()
    monkeypatch.setenv("CRISISWATCH_DATA_KEY", text)
    assert DataKey.from_settings(Settings()).secret == base64.b64decode(text)


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("13800135678", "138****5678"),
        ("138-0013-5678", "138****5678"),
        ("+86 138 0013 5678", "+86 138****5678"),
        ("008613800135678", "+86 138****5678"),
        ("+447911123456", "+447*****3456"),
    ],
)
def test_phone_masks(value: str, masked: str) -> None:
    assert mask_phone(value) == masked


def test_email_id_card_and_name_masks() -> None:
    assert mask_email("li.lei@example.com") == "l***@example.com"
    assert mask_id_card(ID_CARD) == "110105********002X"
    assert mask_name("张三") == "张*"
    assert mask_name("王小明") == "王**"
    assert mask_name("欧阳娜娜") == "欧阳**"
    assert mask_name("欧阳修") == "欧阳*"
    assert mask_name("李") == "*"
    assert mask_contact(ContactKind.OTHER, "wxid_abcdef") == "w********f"


def test_contact_validation_by_kind() -> None:
    assert normalize_contact(ContactKind.PHONE, " 138 0013 5678 ") == "13800135678"
    assert normalize_contact(ContactKind.PHONE, "+86-138-0013-5678") == "+8613800135678"
    assert normalize_contact(ContactKind.PHONE, "+44 7911 123456") == "+447911123456"
    assert normalize_contact(ContactKind.EMAIL, "Li.Lei@Example.COM") == "Li.Lei@example.com"
    assert normalize_contact(ContactKind.ID_CARD, ID_CARD.lower()) == ID_CARD
    for kind, bad, reason in [
        (ContactKind.PHONE, "12800135678", "phone number"),
        (ContactKind.PHONE, "1380013567", "phone number"),
        (ContactKind.PHONE, "+86 1280013567", "mainland mobile"),
        (ContactKind.EMAIL, "li.lei@", "e-mail"),
        (ContactKind.ID_CARD, "11010519491231002", "17 digits"),
        (ContactKind.ID_CARD, "110105194912310021", "checksum"),
        (ContactKind.ID_CARD, "110105194902300027", "birth date"),
    ]:
        with pytest.raises(ContactError, match=reason) as caught:
            normalize_contact(kind, bad)
        assert bad not in str(caught.value)


def test_id_card_check_digit() -> None:
    assert id_card_check_digit(ID_CARD[:17]) == "X"
    first17 = "44030419900101123"
    number = first17 + id_card_check_digit(first17)
    assert normalize_contact(ContactKind.ID_CARD, number) == number


def test_mask_text_finds_every_kind_inside_free_text() -> None:
    text = (
        f"用户张三电话13800135678，备用+86 139-1234-5678，邮箱li.lei@example.com，"
        f"身份证{ID_CARD}，英国号码+44 7911 123456；流水号 2025030112345678901 不变"
    )
    masked = mask_text(text)
    assert masked == (
        "用户张三电话138****5678，备用+86 139****5678，邮箱l***@example.com，"
        "身份证110105********002X，英国号码+447*****3456；流水号 2025030112345678901 不变"
    )
    assert mask_text(masked) == masked  # masking twice changes nothing
    assert mask_value({"a": ["tel 13800135678", 3], "b": ("x@y.cn",)}) == {
        "a": ["tel 138****5678", 3],
        "b": ("x***@y.cn",),
    }


def test_masking_filter_masks_message_args_and_tracebacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger("crisiswatch.test.privacy")
    caplog.set_level(logging.INFO, logger=logger.name)
    caplog.handler.addFilter(MaskingFilter())
    logger.info("called %s at %d", "li.lei@example.com", 13800135678)
    logger.info("payload %r", {"contact": ID_CARD})
    try:
        raise ValueError("bad contact 13912345678")
    except ValueError:
        logger.exception("failed for %s", "13800135678")
    text = caplog.text
    assert "called l***@example.com at 138****5678" in text
    assert "110105********002X" in text
    assert "failed for 138****5678" in text
    assert "bad contact 139****5678" in text
    for clear in ("li.lei@example.com", "13800135678", ID_CARD, "13912345678"):
        assert clear not in text


def test_full_width_numbers_are_masked_too() -> None:
    from libs.privacy import mask_text

    masked = mask_text("请回电１３８１２３４５６７８")
    assert "13812345678" not in masked and "１３８１２３４５６７８" not in masked
    assert "138****5678" in masked


def test_masking_keeps_the_access_line_formatter_working() -> None:
    import io
    import logging

    from uvicorn.logging import AccessFormatter

    from libs.privacy import MaskingFilter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(AccessFormatter('%(client_addr)s "%(request_line)s" %(status_code)s'))
    handler.addFilter(MaskingFilter())
    logger = logging.getLogger("uvicorn.access")
    logger.addHandler(handler)
    try:
        logger.warning(
            '%s - "%s %s HTTP/%s" %d',
            "127.0.0.1:5000",
            "GET",
            "/v1/mentions?phone=13812345678",
            "1.1",
            202,
        )
    finally:
        logger.removeHandler(handler)
    line = stream.getvalue()
    assert line.startswith('127.0.0.1:5000 "GET /v1/mentions?phone=')
    assert "13812345678" not in line and "202" in line
