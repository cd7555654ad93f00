"""The consistency rules as pure functions: normalisation, figures, missing facts, conflicts."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from libs.database.tables import Statement
from services.incidents.statements.consistency import (
    Fact,
    StatementText,
    compute_flags,
    current_statements,
)
from services.incidents.statements.figures import (
    Quantity,
    extract_quantities,
    normalize,
    parse_chinese_number,
)


@pytest.mark.parametrize(
    ("run", "value"),
    [
        ("三", 3),
        ("十", 10),
        ("十二", 12),
        ("二十五", 25),
        ("一百零五", 105),
        ("一百一十", 110),
        ("两千", 2000),
        ("十二万五千", 125_000),
        ("三十万零五百", 300_500),
        ("一亿二千万", 120_000_000),
        ("二〇二六", 2026),
        ("一万二", 12_000),
        ("三千五", 3500),
        ("万一", None),
        ("千万", None),
        ("百", None),
    ],
)
def test_chinese_numerals(run: str, value: int | None) -> None:
    assert parse_chinese_number(run) == value


def test_normalize_folds_width_spaces_numerals_and_separators() -> None:
    assert normalize("共 ３ 批次，ＲＭＢ １，２００ 元") == "共3批次,rmb 1200元"
    assert normalize("二〇二六年三月五日") == "2026年3月5日"
    # A lone 一 is a figure only before a unit word.
    assert normalize("保持一致，再一次致歉，涉及一批次") == "保持一致,再一次致歉,涉及1批次"
    # Spaces between two figures stay, so they never merge into one number.
    assert normalize("百分之十 15%") == "百分之10 15%"
    assert normalize("歡迎監督") == "欢迎监督"


def _q(quantity: str, unit: str, value: str) -> Quantity:
    return Quantity(quantity, unit, value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026年3月5日起", [_q("date", "日期", "2026-03-05")]),
        ("自2026-03-05起", [_q("date", "日期", "2026-03-05")]),
        ("自2026/3/5起", [_q("date", "日期", "2026-03-05")]),
        ("三月五号起", [_q("date", "日期", "--03-05")]),
        ("补偿12.5万元", [_q("amount", "元", "125000")]),
        ("每人¥1,200", [_q("amount", "元", "1200")]),
        ("人民币五百元", [_q("amount", "元", "500")]),
        ("赔300块", [_q("amount", "元", "300")]),
        ("RMB 300", [_q("amount", "元", "300")]),
        ("召回三个批次", [_q("count", "批次", "3")]),
        ("召回3批", [_q("count", "批次", "3")]),
        ("2名用户和3位员工", [_q("count", "人", "2"), _q("count", "人", "3")]),
        ("影响1.2万人", [_q("count", "人", "12000")]),
        ("退款率15%", [_q("count", "%", "15")]),
        ("第3批次产品", []),
        ("统一口径，第一时间回应", []),
        (
            "2026年3月5日召回3批次，补偿200元",
            [
                _q("date", "日期", "2026-03-05"),
                _q("count", "批次", "3"),
                _q("amount", "元", "200"),
            ],
        ),
    ],
)
def test_extract_quantities(text: str, expected: list[Quantity]) -> None:
    assert extract_quantities(text) == expected


def test_a_year_less_date_matches_any_year_but_full_dates_must_agree() -> None:
    short = _q("date", "日期", "--03-05")
    assert short.same_as(_q("date", "日期", "2026-03-05"))
    assert not _q("date", "日期", "2025-03-05").same_as(_q("date", "日期", "2026-03-05"))
    assert not short.same_as(_q("date", "日期", "--03-06"))


def _s(key: str, channel: str, body: str) -> StatementText:
    return StatementText(key=key, channel=channel, body=body)


def test_a_fact_is_carried_verbatim_or_by_its_figures_in_another_form() -> None:
    facts = [
        Fact("日期", "2026年3月5日"),
        Fact("金额", "12.5万元"),
        Fact("热线", "400-800-1234"),
        Fact("范围", "华东地区门店"),
    ]
    carried = _s("a", "wechat", "2026-03-05起，补偿共计¥125,000。热线400 800 1234；华东地区门店")
    assert compute_flags([carried], facts) == {"a": []}

    omitted = _s("b", "weibo", "3月6日起补偿12万元")
    flags = compute_flags([omitted], facts)["b"]
    assert [(f["label"], f["found"]) for f in flags] == [
        ("日期", "--03-06"),
        ("金额", "120000元"),
        ("热线", None),
        ("范围", None),
    ]
    assert {f["kind"] for f in flags} == {"missing_fact"}
    assert {f["channel"] for f in flags} == {"weibo"}


def test_a_conflict_is_the_same_unit_with_no_figure_in_common() -> None:
    wechat = _s("w", "wechat", "3月1日发现问题，3月5日起召回3批次，每人补偿200元")
    weibo = _s("b", "weibo", "3月5日起召回")  # a subset: no conflict
    douyin = _s("d", "douyin", "3月6日起召回5件产品，补偿200元")  # 件 is another unit
    flags = compute_flags([wechat, weibo, douyin], [])
    # Weibo names a subset of WeChat's dates (no conflict) but differs from Douyin's.
    assert [(f["channel"], f["expected"]) for f in flags["b"]] == [("douyin", "--03-06")]
    assert flags["d"] == [
        {
            "kind": "conflict",
            "quantity": "date",
            "unit": "日期",
            "expected": "--03-01、--03-05",
            "found": "--03-06",
            "channel": "wechat",
        },
        {
            "kind": "conflict",
            "quantity": "date",
            "unit": "日期",
            "expected": "--03-05",
            "found": "--03-06",
            "channel": "weibo",
        },
    ]
    assert [(f["channel"], f["found"]) for f in flags["w"]] == [("douyin", "--03-01、--03-05")]


def test_two_statements_of_one_channel_are_never_compared() -> None:
    flags = compute_flags([_s("a", "wechat", "3批次"), _s("b", "wechat", "4批次")], [])
    assert flags == {"a": [], "b": []}


def _statement(channel: str, status: str, at: datetime) -> Statement:
    return Statement(
        id=uuid.uuid4(),
        organization_id=uuid.uuid4(),
        incident_id=uuid.uuid4(),
        channel=channel,
        body="",
        status=status,
        created_by="x",
        created_at=at,
        published_at=at if status == "published" else None,
    )


def test_the_current_statement_is_the_unpublished_one_else_the_latest_published() -> None:
    t = datetime(2026, 3, 5, tzinfo=UTC)
    first = _statement("wechat", "published", t)
    second = _statement("wechat", "published", t + timedelta(hours=1))
    draft = _statement("wechat", "draft", t)  # same creation time as the first
    weibo = _statement("weibo", "approved", t)
    assert current_statements([second, first, weibo]) == [second, weibo]
    assert current_statements([first, draft, second]) == [draft]
