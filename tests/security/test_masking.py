"""Finding 3 (masking misses common forms) replayed: personal data written to slip through.

An attacker here is anyone who can get text into a complaint, a post or a log line and
read it back elsewhere (the console, a webhook, a chat card, the logs): each form below was
once shown in clear. The table holds every form with what must come out; the second half
holds what must come out exactly as it went in (dates, amounts, versions, service lines,
numbers that merely have a phone's length), so masking is not bought by hiding everything.
"""

import logging

import pytest
import stdnum.cn.ric

from libs.contracts.enums import Role
from libs.privacy import MaskingFilter, generate_key, mask_text
from services.ingest.tests.builders import complaint, post_complaint, serve_ingest, settings_for
from tests.builders import Sessions, make_tenant
from tests.fixtures.servers import Servers

ID = "11010519491231002X"  # the GB 11643 sample number
PUDONG = "310115197512030022"  # a district created after the holder's birth year
ZW = "\u200b"  # zero-width space
ZWJ = "\u200d"  # zero-width joiner

MASKED: list[tuple[str, str, str]] = [
    # mainland mobiles, however written
    ("plain", "电话13800135678", "电话138****5678"),
    ("dotted", "回电138.2001.0001", "回电138****0001"),
    ("4-3-4 spaced", "1382 002 0002 找我", "138****0002 找我"),
    ("3-4-4 dashed", "138-0013-5678", "138****5678"),
    ("86 without plus", "8613820030003", "+86 138****0003"),
    ("+86 spaced", "+86 138 2001 0001", "+86 138****0001"),
    ("0086", "0086 138 0013 5678", "+86 138****5678"),
    ("brackets", "(138)2001 0001", "138****0001"),
    ("full-width brackets", "（138）2001 0001", "138****0001"),
    ("+86 in brackets", "(+86)13820010001", "+86 138****0001"),
    ("zero-width space", f"138{ZW}2001{ZW}0001", "138****0001"),
    ("zero-width inside a group", f"1380{ZWJ}0135678", "138****5678"),
    ("full-width digits", "请回电１３８１２３４５６７８", "请回电138****5678"),
    ("full-width dashes", "１３８－２００１－０００１", "138****0001"),
    ("glued to letters", "tel13800135678", "tel138****5678"),
    ("two in a row", "13800135678 13912345678", "138****5678 139****5678"),
    ("list item", "联系方式：1.13800135678", "联系方式：1.138****5678"),
    ("in a query string", "GET /v1/x?phone=13800135678 202", "GET /v1/x?phone=138****5678 202"),
    # landlines with their area code, and other countries
    ("Beijing landline", "座机010-12345678", "座机010-****5678"),
    ("Shenzhen in brackets", "(0755)8888 8888", "0755-****8888"),
    ("Shenzhen full-width", "（0755）8888 8888", "0755-****8888"),
    ("Hangzhou spaced", "0571 8888 8888", "0571-****8888"),
    ("+86 landline", "+86 21 6123 4567", "021-****4567"),
    ("UK mobile", "+44 7911 123456", "+447*****3456"),
    ("US number", "+1 (415) 555-2671", "+141****2671"),
    # 身份证, 18 digits (X) and the old 15
    ("ID", f"身份证{ID}", "身份证110105********002X"),
    ("ID lower-case x", ID.lower(), "110105********002X"),
    ("ID 6-8-4", "110105 19491231 002X", "110105********002X"),
    ("ID 4-4-4-4-2", "1101 0519 4912 3100 2X", "110105********002X"),
    ("ID dashed", "110105-19491231-002X", "110105********002X"),
    ("ID split by zero-width", f"110105{ZW}19491231002X", "110105********002X"),
    ("ID younger district", PUDONG, "310115********0022"),
    ("ID old 15 digits", "身份证110105491231002", "身份证110105******002"),
    ("ID full-width", "１１０１０５１９４９１２３１００２Ｘ", "110105********002X"),
    # e-mail
    ("e-mail", "邮箱li.lei@example.com", "邮箱l***@example.com"),
    ("full-width @ and 。", "a＠b。com", "a***@b.com"),
    ("full-width letters", "ａｂｃ@ｅｘ.ｃｏｍ", "a***@ex.com"),
    ("。 as the dot", "写信li@example。com", "写信l***@example.com"),
    ("zero-width in an e-mail", f"li{ZW}.lei@example.com", "l***@example.com"),
    ("QQ mail", "13800135678@qq.com", "1***@qq.com"),
    ("mistyped local part", "li..lei@example.com", "l***@example.com"),
    # order numbers, where labelled as one
    ("订单号", "订单号：TM20261121083012", "订单号：************3012"),
    ("订单号 with a full-width colon", "订单号：JD2026112100042", "订单号：***********0042"),
    ("order_id=", "order_id=TM20261121083012", "order_id=************3012"),
    ("order id in JSON", '{"order_id": "JD-2026112100042"}', '{"order_id": "************0042"}'),
    ("order no", "Order No. 2025030112345678901", "Order No. ***************8901"),
    ("订单 that is no phone", "订单 12345678901 已发货", "订单 *******8901 已发货"),
]

CLEAR: list[tuple[str, str]] = [
    ("ISO date", "2026-12-06"),
    ("compact date", "20261206"),
    ("date and time", "2026/12/06 10:30:00"),
    ("log timestamp", "2026-12-06 10:30:00,123 INFO services.ingest stored 3"),
    ("ISO timestamp", "next at 2026-12-06T10:30:00Z"),
    ("Chinese date", "2026年12月6日13点"),
    ("amount in yuan", "¥13,800.00"),
    ("amount 元", "退款1380元"),
    ("large amount", "营收13800135678.50元"),
    ("version", "v1.38.2001.0001"),
    ("version without v", "13.8.2001.0001"),
    ("short numbers", "12315 95588 110"),
    ("time", "10:30:00"),
    ("looks like a phone, is none", "流水 12345678901"),
    ("19-digit serial", "流水号 2025030112345678901"),
    ("400 line", "客服热线400-820-8820"),
    ("800 line", "800-810-8888"),
    ("ms timestamp", "at 1733472000000"),
    ("IP address", "192.168.138.200"),
    ("UUID", "incident 5f3c1380-0135-6780-9abc-138001356780"),
    ("hash", "cpl-3f2a13800135678abcdef0123456789"),
    ("weibo URL", "https://weibo.com/1234567890/NxYz12345"),
    ("ID with a wrong check digit", "110105194912310021"),
    ("ID with an impossible birth date", "110105194902300027"),
    ("订单 followed by a date", "订单 2026-12-06 到货"),
    ("percentages", "同比增长18%，4.2万辆"),
    ("already masked", "138****5678 l***@example.com 110105********002X ************3012"),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [pytest.param(text, masked, id=name) for name, text, masked in MASKED],
)
def test_every_written_form_is_masked(text: str, expected: str) -> None:
    assert mask_text(text) == expected
    assert mask_text(expected) == expected  # masking twice changes nothing


@pytest.mark.parametrize("text", [pytest.param(text, id=name) for name, text in CLEAR])
def test_what_is_no_personal_data_is_left_as_written(text: str) -> None:
    assert mask_text(text) == text


def test_the_table_is_wide_enough_and_its_numbers_are_real() -> None:
    assert len(MASKED) + len(CLEAR) >= 40
    assert stdnum.cn.ric.is_valid(ID)
    assert stdnum.cn.ric.calc_check_digit(PUDONG) == PUDONG[-1]
    assert not stdnum.cn.ric.is_valid(PUDONG)  # why the full is_valid is not used


def test_only_the_number_changes_in_the_original_text() -> None:
    # Full-width punctuation around a full-width number stays full-width: nothing else is folded.
    text = (
        f"（客户）：请回电１３８１２３４５６７８！邮箱：ａｂｃ＠ｅｘ。ｃｏｍ，"
        f"订单号：TM20261121083012。{ZW}"
    )
    assert mask_text(text) == (
        f"（客户）：请回电138****5678！邮箱：a***@ex.com，订单号：************3012。{ZW}"
    )


def test_log_lines_hide_every_form(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("crisiswatch.test.security.masking")
    caplog.set_level(logging.INFO, logger=logger.name)
    caplog.handler.addFilter(MaskingFilter())
    logger.info(
        "complaint from %s, order %s, id %s",
        f"138{ZW}2001{ZW}0001",
        "order_id=TM20261121083012",
        "110105 19491231 002X",
    )
    assert caplog.records[-1].getMessage() == (
        "complaint from 138****0001, order order_id=************3012, id 110105********002X"
    )


async def test_a_complaint_answer_shows_the_order_number_and_text_only_masked(
    servers: Servers, sessions: Sessions
) -> None:
    tenant = await make_tenant(sessions)
    body = complaint(
        order_id="TM20261121083012",
        text=f"宝宝拉肚子，请回电 138.2001.0001 或 1382{ZW}002{ZW}0002，邮箱 a＠b。com",
    )
    async with serve_ingest(settings_for(servers, data_key=generate_key())) as client:
        created = await post_complaint(client, tenant, body)
        assert created.status_code == 201, created.text
        read = await client.get(
            f"/v1/complaints/{created.json()['id']}", headers=tenant.auth(Role.VIEWER)
        )
    for answer in (created.json(), read.json()):
        assert answer["order_id"] == "************3012"
        assert answer["text"] == "宝宝拉肚子，请回电 138****0001 或 138****0002，邮箱 a***@b.com"
    for clear in ("20261121083012", "2001.0001", "002\u200b0002", "a＠b"):
        assert clear not in created.text and clear not in read.text
