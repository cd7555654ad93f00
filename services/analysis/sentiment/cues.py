"""Hand-kept sentiment knowledge: the lexicon, negation, degree, sarcasm and question cues.

The learned model reads most of its evidence from words seen in training, but product
reviews say little about emoji, sarcasm or crisis vocabulary. These cues carry that
knowledge into the model as a few dense features whose weights are still learned, so the
hand-kept lists shape the direction of evidence and training decides how much it counts.
"""

from functools import cache
from importlib import resources


def _words(spaced: str) -> frozenset[str]:
    return frozenset(spaced.split())


NEGATIONS = _words(
    "不 没 没有 别 非 无 未 不是 并不 并没有 从不 从没 毫不 绝不 不太 不怎么 "
    "一点都不 一点也不 不算 谈不上 不会 不能 不要 甭 莫"
)
DEGREES: dict[str, float] = {
    "非常": 2.0,
    "太": 1.8,
    "特别": 1.8,
    "超": 1.8,
    "超级": 2.0,
    "极其": 2.0,
    "极": 1.8,
    "十分": 1.8,
    "相当": 1.6,
    "巨": 1.8,
    "贼": 1.6,
    "最": 1.8,
    "很": 1.3,
    "挺": 1.2,
    "真": 1.3,
    "真的": 1.3,
    "真是": 1.3,
    "实在": 1.5,
    "简直": 1.6,
    "严重": 1.8,
    "彻底": 1.8,
    "完全": 1.6,
    "越来越": 1.4,
    "更": 1.3,
    "更加": 1.3,
    "比较": 1.1,
    "有点": 0.8,
    "有些": 0.8,
    "有一点": 0.7,
    "稍微": 0.6,
    "略": 0.6,
}
# Single characters that, glued to a sentiment word by the segmenter ("太坑", "不满意"),
# still act on it.
NEGATION_PREFIXES = ("不", "没", "别", "无", "未", "非")
DEGREE_PREFIXES: dict[str, float] = {"太": 1.8, "超": 1.8, "很": 1.3, "真": 1.3, "巨": 1.8}
QUESTION_CUES = _words(
    "吗 请问 咨询 想问 问下 问一下 求问 怎么 怎样 如何 哪里 哪儿 哪个 哪些 是否 能否 "
    "有没有 是不是 可不可以 能不能 几时 什么时候 多少 多久 几点 啥时候 求助 呢"
)
# Rumour talk passes a claim on without vouching for it; asking whether it is true is not a
# complaint. A debunk denies a claim. Both are matched as substrings of the post.
RUMOUR_CUES = (
    "网传",
    "听说",
    "据说",
    "传言",
    "传闻",
    "有人说",
    "是真的吗",
    "真的假的",
    "是不是真的",
    "真的吗",
    "有人知道",
    "求证",
    "求辟谣",
    "坐等官方",
    "等官方",
    "据传",
    "疑似",
)
DEBUNK_CUES = (
    "辟谣",
    "谣言",
    "不实",
    "造谣",
    "假消息",
    "假新闻",
    "信谣",
    "传谣",
    "已澄清",
    "澄清",
    "检测合格",
    "检测结果合格",
    "系伪造",
    "p图",
    "移花接木",
    "旧闻",
)
CONTRASTS = _words("但 但是 可是 不过 然而 只是 可惜 结果")
# Words that on today's social media mostly mock what they seem to praise. Old product
# reviews use 呵呵 as a friendly laugh, so these never become learned word features.
SARCASM_MARKERS = _words(
    "呵呵 呵呵哒 笑死 笑死了 笑死人 好一个 真行 可真行 真有你的 真是服了 服了 "
    "谢谢你啊 谢谢您嘞 感谢你全家 佩服佩服 真会玩 好家伙 真是好样的 好样的啊 谢谢你全家 "
    "谢谢你们啊 大聪明 可太行了 我谢谢你 真是谢谢"
)
# Quote marks around a praise word ("真是太'好'了") signal irony.
QUOTES = "\"'“”‘’「」『』"
CLAUSE_BREAKS = frozenset(",.;:!?~、，。；：！？…\n()（）【】[]《》<>|/\\-—")

# A praise word inside a sarcastic post counts as a complaint of this weight relative to
# its own; a denied complaint ("不难吃") is faint praise, not praise.
NEGATED_NEGATIVE = 0.5
BEFORE_CONTRAST = 0.5


def _read(name: str) -> dict[str, float]:
    words: dict[str, float] = {}
    root = resources.files("services.analysis.sentiment").joinpath("lexicon", name)
    for line in root.read_text("utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        words[parts[0].casefold()] = float(parts[1]) if len(parts) > 1 else 1.0
    return words


@cache
def lexicon() -> dict[str, float]:
    """Return every sentiment word with its signed weight (negative words below zero)."""
    weights = dict(_read("positive.txt"))
    for word, weight in _read("negative.txt").items():
        weights[word] = -weight
    return weights


@cache
def emoji_weights() -> dict[str, float]:
    """Return bracket codes (without brackets) and emoji characters with signed weights."""
    table = {w: v for w, v in lexicon().items() if not any(c.isalnum() for c in w)}
    table.update(_read("emoji.txt"))
    return table


def vocabulary() -> frozenset[str]:
    """Return the multi-character words the segmenter must keep whole."""
    words = set(lexicon()) | NEGATIONS | set(DEGREES) | QUESTION_CUES | CONTRASTS | SARCASM_MARKERS
    words |= set(RUMOUR_CUES) | set(DEBUNK_CUES)
    return frozenset(w for w in words if len(w) > 1 and not any(c.isspace() for c in w))
