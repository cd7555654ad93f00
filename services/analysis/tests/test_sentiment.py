"""Sentiment of real-looking consumer posts: complaints, praise and enquiries."""

import pytest

from libs.contracts.enums import Sentiment
from services.analysis.analyzer import Analyzer
from services.analysis.sentiment import SentimentResult, classify

NEG, NEU, POS = Sentiment.NEGATIVE, Sentiment.NEUTRAL, Sentiment.POSITIVE

LABELLED: list[tuple[str, Sentiment]] = [
    ("宝宝喝了这款奶粉拉肚子住院了，我要维权！", NEG),
    ("刚收到的酸奶已经过期了，还发霉了，恶心🤮", NEG),
    ("客服态度恶劣，退款拖了一个月还不给退", NEG),
    ("曝光！某品牌婴儿奶粉被检出致癌物质", NEG),
    ("这家店就是骗人的，大家别买", NEG),
    ("味道太差了，再也不买了", NEG),
    ("不是很好用，有点失望", NEG),
    ("用了一个月，皮肤过敏起红疹，要求退款", NEG),
    ("被坑了，虚假宣传，已经向12315投诉", NEG),
    ("说是进口的，结果是假货，太坑了😡", NEG),
    ("新京报调查：多地消费者反映该品牌产品变质", NEG),
    ("真的恶心，吃出了虫子", NEG),
    ("手机用了两天就死机，闪退严重", NEG),
    ("别买了，智商税", NEG),
    ("一点都不好吃", NEG),
    ("店家发错货，联系了也没人管，差评", NEG),
    ("产品召回了吗？家里还有两罐", NEG),
    ("买了三次了，质量一直很稳定，推荐给大家👍", POS),
    ("物流很快，包装也很精致，好评", POS),
    ("东西不错，性价比高", POS),
    ("我家孩子特别喜欢这个味道❤️", POS),
    ("没有异味，挺好的", POS),
    ("包装有破损，不过客服处理很及时，满意", POS),
    ("价格有点贵，但是真的好用", POS),
    ("一直在用，放心的牌子", POS),
    ("点赞，售后小姐姐很耐心", POS),
    ("强烈推荐这款面霜，无限回购", POS),
    ("超好用，爱了爱了", POS),
    ("请问这款奶粉适合几个月的宝宝？", NEU),
    ("咨询一下，会员积分怎么兑换", NEU),
    ("今天去超市买了一罐奶粉", NEU),
    ("新品什么时候上市", NEU),
    ("门店营业时间是几点到几点", NEU),
    ("这个活动规则是怎样的", NEU),
    ("快递到了，明天试试", NEU),
    ("谁知道这个和那个型号有什么区别", NEU),
    ("官方回应了，说会调查", NEU),
    # Known hard cases, kept so the accuracy figure stays honest.
    ("收到了，还没用", NEU),
    ("不难吃，但也谈不上好吃", NEU),
]


def _classify(analyzer: Analyzer, text: str) -> SentimentResult:
    return classify(analyzer.segmenter.cut(text), text)


def test_accuracy_on_labelled_posts_is_at_least_85_percent(analyzer: Analyzer) -> None:
    misses = [
        (text, label, got.label)
        for text, label in LABELLED
        if (got := _classify(analyzer, text)).label is not label
    ]
    accuracy = 1 - len(misses) / len(LABELLED)
    assert accuracy >= 0.85, misses


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("这个奶粉不好用", NEG),
        ("非常满意", POS),
        ("请问在哪里买", NEU),
        ("吃了拉肚子", NEG),
        ("好用，推荐", POS),
        ("😡😡😡", NEG),
        ("👍", POS),
        ("不满意", NEG),
        ("并不推荐", NEG),
    ],
)
def test_clear_cases(analyzer: Analyzer, text: str, label: Sentiment) -> None:
    assert _classify(analyzer, text).label is label


def test_negation_flips_the_next_sentiment_word(analyzer: Analyzer) -> None:
    assert _classify(analyzer, "推荐").score > 0
    assert _classify(analyzer, "不推荐").score < 0
    assert _classify(analyzer, "没有骗人").score > 0


def test_degree_words_scale_sentiment(analyzer: Analyzer) -> None:
    assert _classify(analyzer, "非常满意").score > _classify(analyzer, "满意").score
    assert _classify(analyzer, "太失望").score < _classify(analyzer, "失望").score


def test_questions_lean_neutral(analyzer: Analyzer) -> None:
    statement = _classify(analyzer, "这个奶粉有问题")
    question = _classify(analyzer, "这个奶粉有问题吗?")
    assert abs(question.score) < abs(statement.score)
    assert question.label is NEU


def test_the_clause_after_a_contrast_decides(analyzer: Analyzer) -> None:
    assert _classify(analyzer, "包装很好看，但是用了就过敏").label is NEG
    assert _classify(analyzer, "价格有点贵，不过真的好用").label is POS


def test_score_stays_within_bounds(analyzer: Analyzer) -> None:
    worst = _classify(analyzer, "致癌！召回！住院！诈骗！黑心！" * 20)
    best = _classify(analyzer, "强烈推荐，非常满意，无限回购，太棒了" * 20)
    assert -1.0 <= worst.score < -0.99
    assert 0.99 < best.score <= 1.0
