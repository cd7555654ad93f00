"""The sensitive-term lexicon over realistic posts, matched the way the worker matches them.

Posts go through ingest's normalisation, OpenCC t2s and folding, then one `TermIndex`
built from every consumer's terms; the lexicon only ever sees the resulting set of hits.
"""

import math
import unicodedata

import opencc
import pytest

from libs.contracts.enums import SensitiveCategory
from libs.text import normalize
from services.analysis.crisis_type import CrisisTypeClassifier
from services.analysis.sensitive import (
    MAX_TERM_LENGTH,
    LexiconError,
    SensitiveLexicon,
    TermOverride,
    normalize_term,
    validate_override,
)
from services.analysis.terms import TermIndex, fold

T2S = opencc.OpenCC("t2s")
LEXICON = SensitiveLexicon.default()
INDEX = TermIndex(LEXICON.terms() | CrisisTypeClassifier.default().terms())


def hits_of(text: str, index: TermIndex = INDEX) -> set[str]:
    """The terms the worker would find in a post as a user wrote it."""
    return index.hits(fold(T2S.convert(normalize(text))))


def weight(term: str, lexicon: SensitiveLexicon = LEXICON) -> float:
    return next(entry.weight for entry in lexicon.entries() if entry.term == term)


def expected_noisy_or(*weights: float) -> float:
    return 1.0 - math.prod(1.0 - w for w in weights)


def test_default_lexicon_loads_every_category_with_valid_weights() -> None:
    entries = LEXICON.entries()
    assert 150 <= len(entries) <= 300
    assert {entry.category for entry in entries} == set(SensitiveCategory)
    assert all(0.0 < entry.weight <= 1.0 for entry in entries)
    assert len({entry.term for entry in entries}) == len(entries)
    assert SensitiveLexicon.default() is LEXICON


def test_default_terms_are_stored_in_matching_form() -> None:
    for phrase in LEXICON.terms():
        assert normalize_term(phrase) == phrase
        assert T2S.convert(phrase) == phrase
        assert unicodedata.normalize("NFKC", phrase) == phrase


def test_default_weights_rank_death_above_carcinogens_above_foreign_objects() -> None:
    assert weight("死亡") == 1.0
    assert weight("死亡") > weight("致癌") > weight("异物")
    assert "客服" not in LEXICON.terms()


def test_entries_are_sorted_by_weight_then_term() -> None:
    keys = [(-entry.weight, entry.term) for entry in LEXICON.entries()]
    assert keys == sorted(keys)


def test_exclusions_are_published_for_the_index_but_are_not_entries() -> None:
    exclusions = LEXICON.exclusions()
    assert {"笑死", "死忠粉", "炸鸡", "爆款", "异物感"} <= exclusions
    assert exclusions <= LEXICON.terms()
    assert not exclusions & {entry.term for entry in LEXICON.entries()}


def test_complaint_post_scores_each_category_by_noisy_or() -> None:
    post = (
        "实在忍不住了发出来！！宝宝喝了禾岚启护3段，罐里有黑色异物，这两天一直呕吐、腹泻，"
        "昨晚送去儿童医院挂急诊。客服只说让寄回去检测，求扩散，维权到底！#禾岚奶粉异物#"
    )
    result = LEXICON.assess(hits_of(post))

    terms = {hit.term for hit in result.hits}
    assert terms == {"异物", "呕吐", "腹泻", "急诊", "求扩散", "维权"}
    assert [(-h.weight, h.term) for h in result.hits] == sorted(
        (-h.weight, h.term) for h in result.hits
    )
    categories = result.categories
    assert set(categories) == {
        SensitiveCategory.SAFETY,
        SensitiveCategory.INJURY_DEATH,
        SensitiveCategory.RIGHTS,
    }
    assert categories[SensitiveCategory.SAFETY] == pytest.approx(weight("异物"))
    assert categories[SensitiveCategory.INJURY_DEATH] == pytest.approx(
        expected_noisy_or(weight("呕吐"), weight("腹泻"), weight("急诊"))
    )
    assert categories[SensitiveCategory.RIGHTS] == pytest.approx(
        expected_noisy_or(weight("求扩散"), weight("维权"))
    )
    assert result.score == pytest.approx(expected_noisy_or(*(weight(t) for t in terms)))
    assert 0.0 < result.score <= 1.0


def test_traditional_post_matches_simplified_terms_after_t2s() -> None:
    post = "寶寶喝了以後上吐下瀉，送醫急診，我們要維權到底！已經打了12315投訴，市場監管局也報了。"
    terms = {hit.term for hit in LEXICON.assess(hits_of(post)).hits}
    assert {"上吐下泻", "送医", "急诊", "维权", "12315", "市场监管局"} <= terms


def test_full_width_digits_match_after_normalisation() -> None:
    result = LEXICON.assess(hits_of("已经打了１２３１５，等３·１５晚会曝光"))
    assert {"12315", "3·15晚会"} <= {hit.term for hit in result.hits}
    assert result.categories[SensitiveCategory.REGULATOR] > 0.0


def test_a_neutral_post_is_not_sensitive() -> None:
    post = "请问禾岚启护2段和3段配方差别大吗？宝宝马上满一岁了，客服说可以直接换。"
    result = LEXICON.assess(hits_of(post))
    assert result.hits == ()
    assert result.score == 0.0
    assert result.categories == {}


def test_a_longer_term_stands_for_the_terms_inside_it() -> None:
    result = LEXICON.assess(hits_of("全家吃完外卖食物中毒，半夜进了医院"))
    terms = {hit.term for hit in result.hits}
    assert "食物中毒" in terms
    assert "中毒" not in terms
    assert result.categories[SensitiveCategory.SAFETY] == pytest.approx(weight("食物中毒"))


@pytest.mark.parametrize(
    ("post", "cancelled"),
    [
        ("笑死了，这个广告文案谁想的", "死了"),
        ("笑死人，客服回复居然是复制粘贴", "死人"),
        ("发布会一结束评论区炸了", "炸了"),
        ("这款隐形眼镜戴一整天也没有异物感", "异物"),
        ("宝宝不过敏的话有必要选羊奶粉吗", "过敏"),
        ("死亡芭比粉这个色号黄皮慎入", "死亡"),
        ("电动车在楼下起火，所幸无人受伤", "受伤"),
        ("积分过期了也不提醒一下", "过期"),
    ],
)
def test_an_exclusion_phrase_cancels_the_terms_inside_it(post: str, cancelled: str) -> None:
    hits = hits_of(post)
    assert cancelled in hits
    assert cancelled not in {hit.term for hit in LEXICON.assess(hits).hits}


def test_laughing_is_no_injury_and_fried_chicken_no_explosion() -> None:
    laughing = LEXICON.assess(hits_of("笑死，死忠粉都看不下去了，这波营销笑死我了"))
    fried = LEXICON.assess(hits_of("炸鸡店开业，油炸小吃买一送一，毒舌博主都说好吃"))
    assert SensitiveCategory.INJURY_DEATH not in laughing.categories
    assert SensitiveCategory.SAFETY not in fried.categories
    assert laughing.score == 0.0
    assert fried.score == 0.0


def test_the_same_terms_count_without_their_harmless_context() -> None:
    pet = LEXICON.assess(hits_of("我家猫吃了这批猫粮第二天就死了，医生说是中毒"))
    battery = LEXICON.assess(hits_of("充电宝放在床头突然炸了，还一直冒烟"))
    assert {"死了", "中毒"} <= {hit.term for hit in pet.hits}
    assert {"炸了", "冒烟"} <= {hit.term for hit in battery.hits}
    assert SensitiveCategory.SAFETY in battery.categories


def test_an_unambiguous_term_survives_an_exclusion_elsewhere_in_the_post() -> None:
    result = LEXICON.assess(hits_of("笑死，还有人说是谣言？通报写得清楚：事故造成一人死亡。"))
    assert "死亡" in {hit.term for hit in result.hits}
    assert result.categories[SensitiveCategory.INJURY_DEATH] == pytest.approx(1.0)


def test_the_set_level_rule_also_cancels_a_real_short_term_next_to_an_exclusion() -> None:
    # The documented price of judging sets, not spans: 笑死了 hides the second 死了 too.
    result = LEXICON.assess(hits_of("一开始还笑死了，后来才知道那只狗真的死了"))
    assert "死了" not in {hit.term for hit in result.hits}


def test_other_consumers_terms_never_shadow_lexicon_terms() -> None:
    watch_rule = "禾岚奶粉异物"
    index = TermIndex(LEXICON.terms() | {watch_rule})
    hits = hits_of("#禾岚奶粉异物# 罐里有黑色块", index)
    assert watch_rule in hits
    assert [hit.term for hit in LEXICON.assess(hits).hits] == ["异物"]


def test_overrides_add_change_and_disable_terms_without_touching_the_default() -> None:
    custom = LEXICON.with_overrides(
        [
            validate_override("焦粉", "safety", 0.7),
            validate_override("异物", "safety", 0.9),
            validate_override("维权", "legal", 0.5),
            validate_override("避雷", "rights", 0),
        ]
    )
    assert {"焦粉", "异物", "维权"} <= custom.terms()
    assert "避雷" not in custom.terms()
    index = TermIndex(custom.terms())
    result = custom.assess(hits_of("避雷！罐里全是焦粉和异物，一起维权", index))

    by_term = {hit.term: hit for hit in result.hits}
    assert set(by_term) == {"焦粉", "异物", "维权"}
    assert by_term["异物"].weight == 0.9
    assert by_term["维权"].category is SensitiveCategory.LEGAL
    assert result.categories[SensitiveCategory.SAFETY] == pytest.approx(expected_noisy_or(0.7, 0.9))
    assert SensitiveCategory.RIGHTS not in result.categories

    assert "焦粉" not in LEXICON.terms()
    assert "避雷" in LEXICON.terms()
    assert weight("异物") != 0.9


def test_later_overrides_win_and_a_disabled_term_can_come_back() -> None:
    custom = LEXICON.with_overrides(
        [
            TermOverride("避雷", SensitiveCategory.RIGHTS, 0.0),
            TermOverride("避雷", SensitiveCategory.RIGHTS, 0.45),
        ]
    )
    assert weight("避雷", custom) == 0.45


def test_an_override_in_traditional_characters_matches_simplified_text() -> None:
    override = validate_override(" 維權律師 ", "legal", 0.8)
    assert override.term == "维权律师"
    custom = LEXICON.with_overrides([override])
    result = custom.assess(hits_of("已经请了維權律師", TermIndex(custom.terms())))
    assert [hit.term for hit in result.hits] == ["维权律师"]


def test_exclusions_also_guard_a_short_term_an_organization_adds() -> None:
    custom = LEXICON.with_overrides([validate_override("炸", "safety", 0.5)])
    index = TermIndex(custom.terms())
    assert custom.assess(hits_of("周末去吃炸鸡和炸串", index)).hits == ()
    exploded = custom.assess(hits_of("手机充着电突然炸，屏幕都裂了", index))
    assert [hit.term for hit in exploded.hits] == ["炸"]
    battery = custom.assess(hits_of("电池炸了", index))
    assert [hit.term for hit in battery.hits] == ["炸了"]


def test_an_override_of_an_exclusion_phrase_makes_it_a_term() -> None:
    custom = LEXICON.with_overrides([validate_override("异物感", "safety", 0.3)])
    assert "异物感" not in custom.exclusions()
    result = custom.assess(hits_of("滴了这款眼药水以后一直有异物感", TermIndex(custom.terms())))
    assert [(hit.term, hit.weight) for hit in result.hits] == [("异物感", 0.3)]


@pytest.mark.parametrize(
    ("term", "category", "weight", "field", "message"),
    [
        ("", "safety", 0.5, "term", "blank"),
        ("   ", "safety", 0.5, "term", "blank"),
        ("异" * (MAX_TERM_LENGTH + 1), "safety", 0.5, "term", str(MAX_TERM_LENGTH)),
        ("异\x00物", "safety", 0.5, "term", "control"),
        ("异物", "food", 0.5, "category", "injury_death"),
        ("异物", "", 0.5, "category", "valid categories"),
        ("异物", "safety", -0.1, "weight", "between 0 and 1"),
        ("异物", "safety", 1.01, "weight", "between 0 and 1"),
        ("异物", "safety", math.inf, "weight", "between 0 and 1"),
        ("异物", "safety", math.nan, "weight", "NaN"),
    ],
)
def test_validation_names_the_field_and_explains(
    term: str, category: str, weight: float, field: str, message: str
) -> None:
    with pytest.raises(LexiconError, match=message) as raised:
        validate_override(term, category, weight)
    assert raised.value.field == field
    assert isinstance(raised.value, ValueError)


def test_an_unknown_category_lists_every_valid_one() -> None:
    with pytest.raises(LexiconError) as raised:
        validate_override("异物", "food", 0.5)
    assert all(category.value in str(raised.value) for category in SensitiveCategory)


def test_validation_accepts_the_edges_and_normalises() -> None:
    assert validate_override("a" * MAX_TERM_LENGTH, "legal", 1).weight == 1.0
    assert validate_override("ICU", " Injury_Death ", 0.0) == TermOverride(
        "icu", SensitiveCategory.INJURY_DEATH, 0.0
    )
    assert validate_override("１２３１５", "regulator", 0.7).term == "12315"
