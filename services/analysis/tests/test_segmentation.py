"""Pure tests of segmentation: every engine, protected names, no leak between organizations."""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from services.analysis.segmentation import DEFAULT_ENGINE, ENGINES, Segmenter
from services.analysis.terms import TermIndex

# Sentences from the demo stream and the seed documents (the latter simplified).
REAL_SENTENCES = (
    "实在忍不住了发出来!!宝宝喝了京东自营买的禾岚启护3段,冲奶时发现罐里有好几块黑色硬块",
    "婴配粉是特殊食品,出了这种事不是退一罐钱能解决的。建议涉事家长向12315和当地消协投诉",
    "关注了,等禾岚的检测报告。这种事最怕企业拖,越拖越说明有问题",
    "第一次给娃冲奶,老婆说我水放多了……禾岚罐子上的刻度其实写得挺清楚,是我自己没看",
    "在网络上,舆情在一瞬间就能够传播到全世界,因此企业需要有效地应对网络舆情",
    "互联网公司如何进行危机公关管理",
    "定义与分类:社交媒体危机指的是在社交媒体平台上由于企业或个人行为不当或信息发布错误",
    "【数据】近三个月国产婴配粉线上销量TOP10里,禾岚首次进入前五,销量同比增长58%",
)


@pytest.fixture(scope="module", params=ENGINES)
def segmenter(request: pytest.FixtureRequest) -> Iterator[Segmenter]:
    loaded = Segmenter(request.param)
    loaded.load()
    yield loaded


@pytest.fixture(scope="module")
def reference() -> Segmenter:
    loaded = Segmenter("jieba")
    loaded.load()
    return loaded


def test_unknown_engine_is_refused() -> None:
    with pytest.raises(ValueError, match="pkuseg"):
        Segmenter("pkuseg")


def test_default_engine_is_one_of_the_engines() -> None:
    assert DEFAULT_ENGINE in ENGINES
    assert Segmenter().engine == DEFAULT_ENGINE


def test_protected_names_stay_whole_with_every_engine(segmenter: Segmenter) -> None:
    text = "联系禾岚乳业客服,晨潮新闻报道了这件事"
    index = TermIndex(["禾岚乳业", "禾岚", "晨潮新闻"])
    plain = segmenter.cut(text)
    assert "禾岚乳业" not in plain  # the dictionary alone splits the names
    assert "晨潮新闻" not in plain

    tokens = segmenter.cut(text, keep_whole=index)

    assert "禾岚乳业" in tokens
    assert "晨潮新闻" in tokens
    assert "禾岚" not in tokens  # the longest occurrence wins
    assert "".join(tokens) == text


def test_protection_matches_case_insensitively_and_keeps_the_text_case(
    segmenter: Segmenter,
) -> None:
    tokens = segmenter.cut("新买的HeLan奶粉罐", keep_whole=TermIndex(["helan奶粉"]))

    assert "HeLan奶粉" in tokens


def test_two_organizations_get_their_own_names_whole_and_not_each_others(
    segmenter: Segmenter,
) -> None:
    text = "禾岚乳业晨潮新闻报道"
    brand = TermIndex(["禾岚乳业"])
    media = TermIndex(["晨潮新闻"])

    for_brand = segmenter.cut(text, keep_whole=brand)
    for_media = segmenter.cut(text, keep_whole=media)

    assert for_brand != for_media
    assert "禾岚乳业" in for_brand and "晨潮新闻" not in for_brand
    assert "晨潮新闻" in for_media and "禾岚乳业" not in for_media
    # Nothing stays behind in the shared dictionary.
    assert segmenter.cut(text) == segmenter.cut(text, keep_whole=TermIndex([]))
    assert "禾岚乳业" not in segmenter.cut(text)
    assert segmenter.user_words == frozenset()


def test_no_protection_when_folding_changes_the_length(segmenter: Segmenter) -> None:
    text = "İ禾岚乳业的奶粉"  # "İ".lower() is two characters: offsets no longer line up

    tokens = segmenter.cut(text, keep_whole=TermIndex(["禾岚乳业"]))

    assert tokens == segmenter.cut(text)
    assert "".join(tokens) == text


def test_tokens_never_contain_whitespace(segmenter: Segmenter) -> None:
    text = "买了 iPhone 15 Pro手机,\t禾岚 乳业  客服\n不回"
    index = TermIndex(["iphone 15 pro", "禾岚 乳业"])

    for tokens in (segmenter.cut(text), segmenter.cut(text, keep_whole=index)):
        assert all(token and not any(c.isspace() for c in token) for token in tokens)
        assert "".join(tokens) == "".join(text.split())
    assert "iPhone" in segmenter.cut(text, keep_whole=index)


def test_added_words_stay_whole_in_their_own_instance_only(segmenter: Segmenter) -> None:
    fresh = Segmenter(segmenter.engine)
    fresh.load(["岚途优选"])

    assert fresh.add_words(["禾岚乳业", " 禾岚乳业 ", "岚途优选", "好", "两个 词"]) == 1
    assert fresh.user_words == frozenset({"禾岚乳业", "岚途优选"})
    tokens = fresh.cut("联系禾岚乳业客服,岚途优选也在卖")
    assert "禾岚乳业" in tokens
    assert "岚途优选" in tokens
    # Another instance of the same engine has its own dictionary.
    assert "禾岚乳业" not in segmenter.cut("联系禾岚乳业客服,岚途优选也在卖")
    assert segmenter.user_words == frozenset()


def test_default_engine_agrees_with_jieba_on_real_sentences(reference: Segmenter) -> None:
    chosen = Segmenter(DEFAULT_ENGINE)
    chosen.load()

    for sentence in REAL_SENTENCES:
        assert chosen.cut(sentence) == reference.cut(sentence)


@pytest.mark.parametrize(
    "text",
    ["冲奶水温40-50°C最合适", "COVID-19疫情期间", "C++和C#都会", "test.py文件", "3.5%的人投诉"],
)
def test_every_engine_cuts_letters_digits_and_symbols_like_jieba(
    segmenter: Segmenter, reference: Segmenter, text: str
) -> None:
    assert segmenter.cut(text) == reference.cut(text)


def test_cut_gives_the_same_tokens_from_many_threads(segmenter: Segmenter) -> None:
    index = TermIndex(["禾岚乳业", "禾岚启护"])
    texts = list(REAL_SENTENCES) * 25
    expected = [segmenter.cut(text, keep_whole=index) for text in texts]

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda text: segmenter.cut(text, keep_whole=index), texts))

    assert results == expected
