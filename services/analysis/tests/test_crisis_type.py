"""Crisis-type classification over realistic posts, matched the way the worker matches them."""

import math

import opencc
import pytest

from libs.contracts.enums import CrisisType, SensitiveCategory
from libs.text import normalize
from services.analysis.crisis_type import (
    CATEGORY_EVIDENCE,
    MIN_SCORE,
    TYPE_SEVERITY,
    CrisisCue,
    CrisisTypeClassifier,
    CrisisTypeResult,
    aggregate,
)
from services.analysis.sensitive import SensitiveLexicon, normalize_term, validate_override
from services.analysis.terms import TermIndex, fold

T2S = opencc.OpenCC("t2s")
LEXICON = SensitiveLexicon.default()
CLASSIFIER = CrisisTypeClassifier.default()
INDEX = TermIndex(LEXICON.terms() | CLASSIFIER.terms())


def hits_of(text: str, index: TermIndex = INDEX) -> set[str]:
    """The terms the worker would find in a post as a user wrote it."""
    return index.hits(fold(T2S.convert(normalize(text))))


def classify(text: str, lexicon: SensitiveLexicon = LEXICON) -> CrisisTypeResult:
    hits = hits_of(text, TermIndex(lexicon.terms() | CLASSIFIER.terms()))
    return CLASSIFIER.classify(hits, lexicon.assess(hits))


def cue_weight(term: str, kind: CrisisType) -> float:
    return next(c.weight for c in CLASSIFIER.cues() if c.term == term and c.crisis_type is kind)


def test_default_cues_cover_every_type_with_valid_weights() -> None:
    cues = CLASSIFIER.cues()
    assert {cue.crisis_type for cue in cues} == set(CrisisType)
    assert all(0.0 < cue.weight <= 1.0 for cue in cues)
    assert all(normalize_term(cue.term) == cue.term for cue in cues)
    assert {cue.term for cue in cues} <= CLASSIFIER.terms()
    assert LEXICON.exclusions() <= CLASSIFIER.terms() | {cue.term for cue in cues}
    assert CrisisTypeClassifier.default() is CLASSIFIER


def test_type_severity_covers_every_type_and_ranks_leaks_and_safety_highest() -> None:
    assert set(TYPE_SEVERITY) == set(CrisisType)
    assert all(0.0 <= severity <= 1.0 for severity in TYPE_SEVERITY.values())
    top_two = sorted(TYPE_SEVERITY, key=TYPE_SEVERITY.__getitem__, reverse=True)[:2]
    assert set(top_two) == {CrisisType.DATA_LEAK, CrisisType.PRODUCT_QUALITY}


@pytest.mark.parametrize(
    ("post", "kind", "cues"),
    [
        (
            "網傳禾嵐奶粉致癌？官方闢謠：系不實信息，檢測報告圖片為P圖，已對造謠者報警",
            CrisisType.MISINFORMATION,
            {"辟谣", "不实", "p图", "造谣"},
        ),
        (
            "新品发布会后官微评论区沦陷，差评如潮，小编连夜关闭评论",
            CrisisType.INTERACTION_FAILURE,
            {"评论区沦陷", "差评如潮", "关闭评论"},
        ),
        (
            "双十一零点App崩了，一直闪退，付了款还显示抢不到，这活动混乱得离谱",
            CrisisType.OPERATIONAL_ERROR,
            {"app崩了", "闪退", "抢不到", "活动混乱"},
        ),
        (
            "新买的电动车停在楼下突然自燃，所幸无人受伤，厂家至今没说要不要召回",
            CrisisType.PRODUCT_QUALITY,
            {"自燃", "召回", "sensitive:safety"},
        ),
        (
            "客服踢皮球，申请退款一周没人管，售后态度恶劣",
            CrisisType.CUSTOMER_SERVICE,
            {"踢皮球", "态度恶劣", "退款", "售后", "客服"},
        ),
        (
            "新广告被指辱华，代言人塌房了品牌还不解约，三观不正，抵制！",
            CrisisType.BRAND_IMAGE,
            {"辱华", "代言人塌房", "三观不正"},
        ),
        (
            "剛註冊完就接到騷擾電話，對方準確說出我的姓名和訂單，懷疑個人信息洩露，"
            "平台是不是被脫庫了？",
            CrisisType.DATA_LEAK,
            {"脱库", "信息泄露", "骚扰电话", "sensitive:data_leak"},
        ),
    ],
)
def test_each_type_is_chosen_by_its_cues(post: str, kind: CrisisType, cues: set[str]) -> None:
    result = classify(post)
    assert result.crisis_type is kind
    assert cues <= set(result.evidence)
    assert result.scores[kind] == max(result.scores.values())
    assert MIN_SCORE <= result.scores[kind] <= 1.0
    assert 0.0 < result.confidence <= result.scores[kind]


def test_evidence_lists_cues_by_weight_then_categories() -> None:
    result = classify("奶粉里喝出异物，整罐都发霉变质了，要求召回")
    kind = CrisisType.PRODUCT_QUALITY
    assert result.crisis_type is kind
    terms = [label for label in result.evidence if not label.startswith("sensitive:")]
    # 发霉变质 is one cue: its parts, and the 霉变 that straddles them, do not count again.
    assert set(terms) == {"发霉变质", "异物", "召回"}
    assert [(-cue_weight(t, kind), t) for t in terms] == sorted(
        (-cue_weight(t, kind), t) for t in terms
    )
    assert result.evidence[len(terms) :] == ("sensitive:safety",)


def test_a_post_score_is_the_noisy_or_of_its_cues() -> None:
    result = classify("登录不上，App又闪退了，客服电话一直占线")
    kind = CrisisType.OPERATIONAL_ERROR
    assert result.scores[kind] == pytest.approx(cue_weight("闪退", kind))
    service = CrisisType.CUSTOMER_SERVICE
    expected = 1.0 - (1.0 - cue_weight("客服", service)) * (1.0 - cue_weight("一直占线", service))
    assert result.scores[service] == pytest.approx(expected)


def test_a_stronger_rival_lowers_confidence() -> None:
    alone = classify("客服踢皮球，申请退款一周没人管")
    contested = classify("客服踢皮球，申请退款一周没人管，广告文案倒是写得好听")
    assert alone.crisis_type is contested.crisis_type is CrisisType.CUSTOMER_SERVICE
    assert alone.confidence == pytest.approx(alone.scores[CrisisType.CUSTOMER_SERVICE])
    assert contested.confidence < alone.confidence


@pytest.mark.parametrize(
    "post",
    [
        "请问禾岚启护2段和3段配方差别大吗？宝宝马上满一岁了",
        "禾岚客服态度还挺好的，问了半天转奶的问题都很耐心",
        "心态崩了，今天又加班到十点",
        "笑死，这周末又去吃炸鸡了",
    ],
)
def test_no_type_for_a_neutral_post(post: str) -> None:
    result = classify(post)
    assert result.crisis_type is None
    assert result.confidence == 0.0
    assert result.evidence == ()
    assert all(score < MIN_SCORE for score in result.scores.values())


def test_a_longer_cue_stands_for_the_cues_inside_it() -> None:
    result = classify("这次的新品广告翻车了")
    assert result.crisis_type is CrisisType.OPERATIONAL_ERROR
    assert result.evidence == ("广告翻车",)
    assert "翻车" in hits_of("这次的新品广告翻车了")


def test_sensitive_categories_count_as_evidence() -> None:
    post = "这批货被曝用了地沟油"
    hits = hits_of(post)
    assert CLASSIFIER.classify(hits).crisis_type is None
    result = CLASSIFIER.classify(hits, LEXICON.assess(hits))
    kind, factor = CATEGORY_EVIDENCE[SensitiveCategory.SAFETY]
    assert result.crisis_type is kind is CrisisType.PRODUCT_QUALITY
    assert result.evidence == ("sensitive:safety",)
    safety = LEXICON.assess(hits).categories[SensitiveCategory.SAFETY]
    assert result.scores[kind] == pytest.approx(safety * factor)


def test_an_organization_term_leads_to_a_type_through_its_category() -> None:
    custom = LEXICON.with_overrides([validate_override("会员资料外流", "data_leak", 0.9)])
    result = classify("会员资料外流了，大家赶紧改密码", custom)
    assert result.crisis_type is CrisisType.DATA_LEAK
    assert result.evidence == ("sensitive:data_leak",)
    # Passed on as hearsay, the same claim is rumour talk (test_crisis_type_rumour).
    heard = classify("听说会员资料外流了，大家赶紧改密码", custom)
    assert heard.crisis_type is CrisisType.MISINFORMATION
    assert heard.evidence == ("听说", "sensitive:data_leak")


def test_legal_terms_alone_choose_no_type() -> None:
    post = "已经给他们发了律师函，准备起诉"
    assert LEXICON.assess(hits_of(post)).categories.get(SensitiveCategory.LEGAL, 0.0) > 0.0
    assert classify(post).crisis_type is None


def test_ties_go_to_the_more_severe_type_whatever_the_order() -> None:
    cues = [
        CrisisCue("甲", CrisisType.MISINFORMATION, 0.5),
        CrisisCue("乙", CrisisType.DATA_LEAK, 0.5),
        CrisisCue("丙", CrisisType.INTERACTION_FAILURE, 0.5),
    ]
    for ordering in (cues, cues[::-1]):
        classifier = CrisisTypeClassifier(ordering)
        result = classifier.classify({"丙", "甲", "乙"})
        assert result.crisis_type is CrisisType.DATA_LEAK
        assert result.confidence == pytest.approx(0.5 * 0.5)
        pair = classifier.classify({"丙", "甲"})
        assert pair.crisis_type is CrisisType.MISINFORMATION


def test_ties_from_noisy_or_in_another_order_are_still_ties() -> None:
    classifier = CrisisTypeClassifier(
        [
            CrisisCue("甲", CrisisType.OPERATIONAL_ERROR, 0.1),
            CrisisCue("乙", CrisisType.OPERATIONAL_ERROR, 0.7),
            CrisisCue("丙", CrisisType.OPERATIONAL_ERROR, 0.3),
            CrisisCue("丁", CrisisType.CUSTOMER_SERVICE, 0.3),
            CrisisCue("戊", CrisisType.CUSTOMER_SERVICE, 0.7),
            CrisisCue("己", CrisisType.CUSTOMER_SERVICE, 0.1),
        ]
    )
    result = classifier.classify({"甲", "乙", "丙", "丁", "戊", "己"})
    scores = result.scores
    assert math.isclose(scores[CrisisType.OPERATIONAL_ERROR], scores[CrisisType.CUSTOMER_SERVICE])
    assert result.crisis_type is CrisisType.CUSTOMER_SERVICE


def test_a_zero_weight_cue_is_switched_off() -> None:
    classifier = CrisisTypeClassifier(
        [
            CrisisCue("宕机", CrisisType.OPERATIONAL_ERROR, 0.8),
            CrisisCue("宕机", CrisisType.DATA_LEAK, 0),
        ]
    )
    assert classifier.cues() == [CrisisCue("宕机", CrisisType.OPERATIONAL_ERROR, 0.8)]


WINDOW = [
    "实在忍不住了！宝宝喝的奶粉罐里有黑色异物，上吐下泻进了急诊，维权到底！",
    "姐妹们千万避雷，罐里有异物还有酸味，宝宝喝完拉肚子",
    "强烈要求召回同批次产品！罐里的异物到底是什么？",
    "刚申请退款，客服踢皮球，说要先寄回去才能退",
    "请问禾岚启护2段和3段配方差别大吗？",
    "宁夏牧场直播来啦！带大家看看每一滴奶从哪里来",
    "禾岚客服态度还挺好的，问了半天都很耐心",
]


def test_aggregate_picks_the_dominant_type_with_counted_evidence() -> None:
    results = [classify(post) for post in WINDOW]
    window = aggregate(results)

    assert window.crisis_type is CrisisType.PRODUCT_QUALITY
    assert window.evidence[0] == "异物×3"
    assert "召回×1" in window.evidence
    assert len(window.evidence) <= 5
    for kind, mean in window.scores.items():
        assert mean == pytest.approx(sum(r.scores.get(kind, 0.0) for r in results) / len(WINDOW))
    quality = window.scores[CrisisType.PRODUCT_QUALITY]
    assert quality > window.scores[CrisisType.CUSTOMER_SERVICE]
    assert 0.0 < window.confidence <= 1.0


def test_aggregate_needs_a_mention_that_chose_the_type() -> None:
    weak = [classify(post) for post in WINDOW[4:]] * 5
    assert sum(r.scores.get(CrisisType.CUSTOMER_SERVICE, 0.0) for r in weak) >= MIN_SCORE
    assert aggregate(weak).crisis_type is None
    assert aggregate([]).crisis_type is None


def test_aggregate_ties_go_to_the_more_severe_type() -> None:
    leak = CrisisTypeResult(CrisisType.DATA_LEAK, 0.6, ("泄露",), {CrisisType.DATA_LEAK: 0.6})
    rumour = CrisisTypeResult(
        CrisisType.MISINFORMATION, 0.6, ("谣言",), {CrisisType.MISINFORMATION: 0.6}
    )
    assert aggregate([rumour, leak]).crisis_type is CrisisType.DATA_LEAK
    assert aggregate([leak, rumour]).evidence == ("泄露×1",)
    assert aggregate([rumour, rumour, leak]).crisis_type is CrisisType.MISINFORMATION
