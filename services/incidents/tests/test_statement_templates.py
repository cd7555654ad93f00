"""The built-in statement templates keep the documents' principles on every channel."""

import itertools

import pytest

from libs.contracts.enums import Channel, CrisisType, StatementStage, Tier
from libs.reply_library import deletion_advice
from services.incidents.statements import templates

EVERY = list(
    itertools.product(StatementStage, Channel, [None, *CrisisType], [Tier.YELLOW, Tier.RED])
)


@pytest.mark.parametrize(("stage", "channel", "crisis_type", "tier"), EVERY)
def test_every_built_in_template_gives_a_contact_lists_the_facts_and_never_advises_deletion(
    stage: StatementStage, channel: Channel, crisis_type: CrisisType | None, tier: Tier
) -> None:
    body = templates.built_in(stage, channel, crisis_type, tier)
    assert "{{联系方式}}" in body
    assert "{{关键事实}}" in body
    assert deletion_advice(body) is None


@pytest.mark.parametrize("channel", list(Channel))
def test_a_rumour_is_answered_with_facts_not_an_apology(channel: Channel) -> None:
    rumour = templates.built_in(
        StatementStage.FIRST_RESPONSE, channel, CrisisType.MISINFORMATION, Tier.RED
    )
    owned = templates.built_in(
        StatementStage.FIRST_RESPONSE, channel, CrisisType.PRODUCT_QUALITY, Tier.RED
    )
    assert "歉" not in rumour and "举报" in rumour
    assert "歉意" in owned and "跨部门专项工作组" in owned


def test_a_slot_without_its_fact_is_marked_and_reported_once() -> None:
    filled = templates.fill(
        "{{品牌}}：{{原因}}，{{原因}}；{{关键事实}}",
        {"批次": "HL2311A07"},
        {templates.BRAND: "禾岚"},
    )
    assert filled.text == "禾岚：【待补充：原因】，【待补充：原因】；批次：HL2311A07"
    assert filled.missing_facts == ["原因"]


def test_the_fact_list_holds_only_facts_no_other_slot_names() -> None:
    facts = {"原因": "灌装线清洗不到位", "批次": "HL2311A07"}
    filled = templates.fill("原因：{{原因}}\n{{关键事实}}\n\n\n联系我们", facts, {})
    assert filled.text == "原因：灌装线清洗不到位\n批次：HL2311A07\n\n联系我们"
    alone = templates.fill("原因：{{原因}}\n{{关键事实}}\n\n联系我们", {"原因": "清洗"}, {})
    assert alone.text == "原因：清洗\n\n联系我们"


def test_a_text_too_long_for_its_channel_says_why() -> None:
    assert templates.fits(Channel.WEIBO, "字" * 2001) == ["微博正文 2001 字，超过 2000 字"]
    script = "视频脚本：说明\n【镜头1】\n口播：" + "字" * 250
    assert templates.fits(Channel.DOUYIN, script) == ["抖音口播约 63 秒，超过 60 秒"]
    long_title = "标题：" + "字" * 21 + "\n正文"
    assert templates.fits(Channel.XIAOHONGSHU, long_title) == ["小红书标题 21 字，超过 20 字"]
