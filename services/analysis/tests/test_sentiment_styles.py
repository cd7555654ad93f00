"""How social media is written now: slang, rumour talk, traditional characters, news, sarcasm.

Each post goes the worker's way: `textprep.prepare` (traditional to simplified, bracket codes
and emoji set aside), the worker's segmenter with the model's vocabulary kept whole, then
the committed model. The sentences are written for these tests; none comes from the
training data or the evaluation set.
"""

import pytest

from libs.contracts.enums import Sentiment
from libs.text import to_simplified
from services.analysis.analyzer import Analyzer
from services.analysis.sentiment.model import SentimentResult
from services.analysis.textprep import prepare

NEG, NEU, POS = Sentiment.NEGATIVE, Sentiment.NEUTRAL, Sentiment.POSITIVE


def _classify(analyzer: Analyzer, post: str) -> SentimentResult:
    prepared = prepare(post)
    text = prepared.sentiment_text
    return analyzer.model.classify(analyzer.segmenter.cut(text), text, prepared.emoji)


CASES = {
    "slang praise": (
        POS,
        [
            "松果家的冻干草莓绝了，办公室人手一包，已经第四次回购",
            "北岸手表这次联名款直接封神，狠狠爱了",
            "朗月民宿的早餐yyds，老板人也超好",
            "闭眼入！青川米粉的汤底真的香迷糊了",
        ],
    ),
    "slang complaint": (
        NEG,
        [
            "避雷北岸手表，表带戴两天就断，纯纯智商税",
            "青川米粉这次翻车了，汤咸得离谱，退钱",
        ],
    ),
    "rumour question": (
        NEU,
        [
            "网传松果冻干草莓检出农药残留，这是真的吗？有没有人看到正式通报",
            "听说朗月民宿要关门了，真的假的？",
        ],
    ),
    "accusation passed on as fact": (
        NEG,
        ["我邻居在青川米粉后厨干过，说他们的汤底一直用过期骨头熬，大家千万别去"],
    ),
    "neutral news": (
        NEU,
        [
            "青川米粉今日宣布在武汉开设华中首家门店，预计下月试营业。",
            "北岸手表发布中期报告，上半年营收同比增长3.4%。",
            "松果食品任命李明为新任财务总监，即日起生效。",
        ],
    ),
    "scandal news": (
        NEG,
        [
            "松果食品因冻干产品菌落总数超标被市场监管局罚款20万元。",
            "记者暗访发现，朗月民宿多间客房床品未按规定更换。",
        ],
    ),
    "sarcasm": (
        NEG,
        [
            "北岸手表的售后真是好样的，寄修两个月杳无音信[微笑]",
            "谢谢你啊朗月民宿，订好的房间到店说没了",
            "呵呵，青川米粉又涨价了，分量倒是越来越“实在”",
        ],
    ),
    "promotional copy": (
        NEU,
        ["【北岸手表】周年庆全场腕表九折，前50名下单加赠表带，点击链接了解详情"],
    ),
}


@pytest.mark.parametrize("style", sorted(CASES))
def test_each_style_gets_the_guideline_label(analyzer: Analyzer, style: str) -> None:
    label, posts = CASES[style]
    got = {post: _classify(analyzer, post).label for post in posts}
    assert got == dict.fromkeys(posts, label)


def test_a_rumour_question_names_its_form_as_evidence(analyzer: Analyzer) -> None:
    result = _classify(analyzer, "网传北岸手表表盘含放射性物质，是真的吗？")
    assert result.label is NEU, result
    assert {"rumour talk", "question"} & set(result.evidence), result


def test_a_debunk_is_not_negative_for_the_brand(analyzer: Analyzer) -> None:
    result = _classify(analyzer, "北岸手表官方辟谣：网传的停产通知系伪造，已报警")
    assert result.label is not NEG, result


@pytest.mark.parametrize(
    ("post", "label"),
    [
        ("朗月民宿的房間乾淨又舒服，服務很貼心，下次還會再來", POS),
        ("北岸手錶的售後太差勁了，修了三次還是壞，非常失望", NEG),
        ("請問朗月民宿週末還有空房嗎？", NEU),
    ],
)
def test_traditional_characters_read_like_simplified(
    analyzer: Analyzer, post: str, label: Sentiment
) -> None:
    traditional = _classify(analyzer, post)
    assert traditional.label is label, traditional
    assert traditional.probabilities == _classify(analyzer, to_simplified(post)).probabilities
