"""Pure tests of text preparation: repost chains, markers, emoji, URLs and simplification."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from libs.text import normalize, to_simplified
from services.analysis.textprep import PreparedText, RepostHop, prepare


def test_repost_chain_splits_own_words_from_each_hop_nearest_first() -> None:
    prepared = prepare("我也中招了//@小王:太坑了 http://t.cn/xyz//@禾岚乳业:关于产品的声明")

    assert prepared.own == "我也中招了"
    assert prepared.chain == (
        RepostHop(handle="小王", text="太坑了"),
        RepostHop(handle="禾岚乳业", text="关于产品的声明"),
    )
    assert prepared.urls == ("http://t.cn/xyz",)
    assert prepared.sentiment_text == "我也中招了"


def test_matching_joins_own_and_chain_texts_without_handles() -> None:
    prepared = prepare("我也中招了//@小王:太坑了//@禾岚乳业:关于产品的声明")

    assert prepared.matching == "我也中招了\n太坑了\n关于产品的声明"
    assert "小王" not in prepared.matching


def test_full_width_colon_after_the_handle_starts_a_hop() -> None:
    prepared = prepare("同意//@儿科医生老周：先注意补液防脱水")

    assert prepared.chain == (RepostHop(handle="儿科医生老周", text="先注意补液防脱水"),)
    assert prepared.own == "同意"


@pytest.mark.parametrize(
    ("text", "sentiment_text", "matching"),
    [
        (
            "转发微博//@小王:太坑了[怒]//@禾岚乳业:关于产品的声明",
            "太坑了",
            "太坑了\n关于产品的声明",
        ),
        ("轉發微博", "", ""),
    ],
    ids=["sentiment-reads-the-nearest-hop", "bare-traditional"],
)
def test_an_empty_repost_comment_is_no_opinion(
    text: str, sentiment_text: str, matching: str
) -> None:
    prepared = prepare(text)

    assert prepared.own == ""
    assert prepared.sentiment_text == sentiment_text
    assert prepared.matching == matching


def test_sentiment_text_skips_hops_that_said_nothing() -> None:
    prepared = prepare("//@小王:转发微博//@小李:[哈哈]//@消费维权观察:必须彻查")

    assert [hop.text for hop in prepared.chain] == ["", "", "必须彻查"]
    assert prepared.sentiment_text == "必须彻查"


def test_weibo_hashtags_keep_their_words_without_markers() -> None:
    prepared = prepare("#禾岚奶粉被指检出异物# 强烈要求召回#禾岚奶粉被指检出异物#")

    assert prepared.own == "禾岚奶粉被指检出异物 强烈要求召回 禾岚奶粉被指检出异物"
    assert prepared.hashtags == ("禾岚奶粉被指检出异物",)


def test_douyin_and_xiaohongshu_hashtags_end_at_a_space_or_the_end() -> None:
    prepared = prepare("换了禾岚启护3段,宝宝便便终于不干了 #奶粉测评 #母婴好物")

    assert prepared.own == "换了禾岚启护3段,宝宝便便终于不干了 奶粉测评 母婴好物"
    assert prepared.hashtags == ("奶粉测评", "母婴好物")


def test_xiaohongshu_topic_suffix_is_not_part_of_the_hashtag() -> None:
    assert prepare("收藏了 #奶粉怎么选[话题]#").hashtags == ("奶粉怎么选",)


def test_a_hash_after_a_latin_letter_is_no_hashtag() -> None:
    prepared = prepare("学C#很难")

    assert prepared.hashtags == ()
    assert prepared.own == "学C#很难"


def test_emoji_codes_and_characters_are_collected_in_order_and_removed() -> None:
    prepared = prepare("气死了[怒]😡 客服[笑cry]不理人🤷‍♀️ 支持国货🇨🇳👍🏻 1️⃣先停用")

    assert prepared.emoji == ("怒", "😡", "笑cry", "🤷\u200d♀️", "🇨🇳", "👍🏻", "1️⃣")
    assert prepared.own == "气死了 客服 不理人 支持国货 先停用"


def test_removing_an_emoji_between_words_leaves_a_space_not_a_new_word() -> None:
    assert prepare("好[哈哈]棒").own == "好 棒"
    assert prepare("太坑了[怒]!").own == "太坑了!"


def test_arrows_are_punctuation_not_emoji() -> None:
    prepared = prepare("扫码→输入12位码")

    assert prepared.own == "扫码→输入12位码"
    assert prepared.emoji == ()


def test_urls_are_removed_from_the_words_and_trailing_punctuation_stays() -> None:
    prepared = prepare("声明见 https://weibo.com/123/abc?from=share#top, 大家看看 http://t.cn/A6x")

    assert prepared.urls == ("https://weibo.com/123/abc?from=share#top", "http://t.cn/A6x")
    assert prepared.own == "声明见 , 大家看看"
    assert prepared.hashtags == ()


def test_mentions_keep_the_name_and_drop_the_at_sign() -> None:
    prepared = prepare("联系@禾岚乳业 客服,发邮件到 kefu@helan.example 也没用")

    assert prepared.own == "联系 禾岚乳业 客服,发邮件到 kefu@helan.example 也没用"
    assert "禾岚乳业" in prepared.matching


def test_traditional_text_is_simplified_and_the_original_kept() -> None:
    original = "罐裡發現異物,網絡上很多人轉發"
    prepared = prepare(original)

    assert prepared.original == original
    assert prepared.simplified == "罐里发现异物,网络上很多人转发"
    assert prepared.own == prepared.simplified
    assert "发现异物" in prepared.matching


def test_to_simplified_converts_characters() -> None:
    assert to_simplified("發現異物") == "发现异物"


def test_matching_is_folded_and_own_keeps_its_case() -> None:
    prepared = prepare("OPO含量 看配料表")

    assert prepared.own == "OPO含量 看配料表"
    assert prepared.matching == "opo含量 看配料表"


def test_whitespace_left_by_removals_is_folded() -> None:
    prepared = prepare("  #新手爸爸   😅   水放多了  ")

    assert prepared.own == "新手爸爸 水放多了"


def test_a_normalised_full_width_post_is_prepared_like_its_half_width_form() -> None:
    stored = normalize("已经打了12315！//＠消费维权观察：＃禾岚奶粉被指检出异物＃ 请尽快公开")
    prepared = prepare(stored)

    assert prepared.own == "已经打了12315!"
    assert prepared.chain == (
        RepostHop(handle="消费维权观察", text="禾岚奶粉被指检出异物 请尽快公开"),
    )
    assert prepared.hashtags == ("禾岚奶粉被指检出异物",)


def test_prepare_gives_the_same_result_from_many_threads() -> None:
    texts = [
        "罐裡發現異物[怒]//@小王:太坑了 #避雷",
        "冲奶时发现罐里有黑色硬块😡 @禾岚乳业 给个说法",
        "互聯網公司如何進行危機公關管理",
    ] * 50
    expected = [prepare(text) for text in texts]

    with ThreadPoolExecutor(max_workers=4) as pool:
        results: list[PreparedText] = list(pool.map(prepare, texts))

    assert results == expected
