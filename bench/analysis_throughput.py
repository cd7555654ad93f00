"""Analysis throughput of one worker process against bare segmentation of the same texts.

Segmentation is the ceiling: every other step (OpenCC, the term automaton, watch rules,
sentiment, sensitive terms, crisis type, MinHash) must stay cheap beside it. Both figures
come from the same process, the same texts and the same segmenter in one run, so their
ratio is what matters. A per-step breakdown shows where the rest of the time goes.
"""

import argparse
import statistics
import time
import uuid
from collections.abc import Callable

from harness import fixed_corpus

from libs.text import normalize
from services.analysis import stories
from services.analysis.analyzer import (
    Analyzer,
    MentionText,
    OrgConfig,
    WatchlistSpec,
    compile_profile,
)
from services.analysis.segmentation import Segmenter
from services.analysis.textprep import prepare

# Twenty watch rules a dairy brand's team would write, in the rule language.
RULES = [
    "禾岚 | 禾岚乳业 | 禾岚奶粉",
    "(禾岚 | 启护 | 悠羊) & (异物 | 黑色硬块 | 结块 | 变质 | 酸味)",
    "(奶粉 | 米粉) & (致癌 | 召回) & !谣言",
    "禾岚 & (拉肚子 | 腹泻 | 呕吐 | 住院 | 急诊)",
    "禾岚 & (客服 | 退款 | 售后) & !表扬",
    "(禾岚 | 启护) & (维权 | 投诉 | 12315 | 曝光)",
    '"3·15" | 315晚会 | 市场监管',
    "禾岚 & source:(weibo | douyin)",
    "禾岚 & (代言人 | 广告) & (翻车 | 道歉)",
    "(奶粉 | 婴儿配方) & (检测 | 抽检) & (不合格 | 超标)",
    "禾岚 & (泄露 | 隐私 | 个人信息)",
    "(启护 | 悠羊) & (涨价 | 缺货 | 断货)",
    "禾岚 & (直播 | 活动) & (混乱 | 抢不到 | 崩溃)",
    "(晨潮新闻 | 记者) & 禾岚",
    "宝宝 & 奶粉 & (过敏 | 湿疹)",
    "禾岚 & !(抽奖 | 转发)",
    "(乳业 | 奶企) & (丑闻 | 事故)",
    "禾岚 & (批号 | 生产日期)",
    "(羊奶粉 | 牛奶粉) & 对比",
    "禾岚 & (好评 | 推荐 | 回购)",
]
KEYWORDS = ("禾岚", "禾岚乳业", "禾岚奶粉", "禾岚启护", "禾岚悠羊", "晨潮新闻")


def best_of(runs: int, work: Callable[[], object]) -> float:
    """Return the fastest of `runs` timings of `work`, in seconds."""
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        timings.append(time.perf_counter() - started)
    return min(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    texts = [normalize(t) for t in fixed_corpus(args.posts)]
    mentions = [MentionText(uuid.uuid4(), t, "weibo") for t in texts]
    analyzer = Analyzer()
    started = time.perf_counter()
    analyzer.load()
    load_seconds = time.perf_counter() - started
    config = OrgConfig(
        watchlists=tuple(
            WatchlistSpec(id=uuid.uuid4(), query=rule, keywords=KEYWORDS if i == 0 else ())
            for i, rule in enumerate(RULES)
        )
    )
    profile = compile_profile(config)
    segmenter = analyzer.segmenter
    analyzer.analyze_batch(mentions[:200], profile)  # warm caches

    bare = best_of(args.runs, lambda: [segmenter.cut(t) for t in texts])
    full = best_of(args.runs, lambda: analyzer.analyze_batch(mentions, profile))
    reference = Segmenter("jieba")
    reference.load()
    bare_jieba = best_of(args.runs, lambda: [reference.cut(t) for t in texts])

    prepared = [prepare(t) for t in texts]
    tokens = [segmenter.cut(p.sentiment_text, keep_whole=profile.index) for p in prepared]
    steps = {
        "prepare (OpenCC, URLs, chains, tags)": lambda: [prepare(t) for t in texts],
        "segment with organization words": lambda: [
            segmenter.cut(p.sentiment_text, keep_whole=profile.index) for p in prepared
        ],
        "term automaton + 20 rules": lambda: [
            profile.rules.match(profile.index.hits(p.matching), "weibo") for p in prepared
        ],
        "sentiment (tokens given)": lambda: [
            analyzer.model.classify(t, p.sentiment_text, p.emoji)
            for t, p in zip(tokens, prepared, strict=True)
        ],
        "MinHash signature": lambda: [stories.signature(p.matching) for p in prepared],
    }
    chars = sum(len(t) for t in texts)
    print(f"posts                      {len(texts)} ({chars / len(texts):.0f} chars on average)")
    print(f"segmenter engine           {segmenter.engine}")
    print(f"worker start (dictionary, model) {load_seconds:.2f} s")
    print(f"bare segmentation          {len(texts) / bare:,.0f} posts/s")
    print(f"full analysis              {len(texts) / full:,.0f} posts/s")
    print(f"ratio full / bare          {bare / full:.2f}")
    print(f"bare segmentation, jieba   {len(texts) / bare_jieba:,.0f} posts/s (the reference)")
    print(f"ratio full / bare jieba    {bare_jieba / full:.2f}")
    print("per-step cost (µs/post):")
    for name, work in steps.items():
        seconds = best_of(args.runs, work)
        print(f"  {name:<38} {1e6 * seconds / len(prepared):8.1f}")
    per_post = [len(t) for t in texts]
    print(f"median post length         {statistics.median(per_post):.0f} chars")


if __name__ == "__main__":
    main()
