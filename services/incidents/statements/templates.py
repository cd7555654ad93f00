"""Statement templates (自动化声明生成器): the built-in ones, and filling any template with facts.

A template is text with `{{标签}}` slots. A slot names a key fact of the incident by its
label, or one of the values every incident has (`{{品牌}}`, `{{事件}}`, `{{日期}}`); a
slot whose fact is not set yet is left as 【待补充：标签】 and reported, so the team sees what
it still has to establish before publishing. `{{关键事实}}` lists the key facts no other
slot names, so that every key fact is carried, which keeps a draft consistent with the
other channels (一致性原则): the consistency check flags a statement that does not carry a
key fact's value.

The built-in templates follow the documents this product comes from: a first response
within hours that owns the problem and says what is known, what is being done and when
the next update comes (紧急情况先发声明后补充说明); a detailed reply with cause, scope,
measures and compensation; a closing notice of the improvements made (公示改进成果). Each
apologises and takes responsibility (真诚歉意) — except for a rumour, where an apology
would confirm it: that one states the facts and the legitimate channels taken (platform
reports, legal action) instead. Every one gives affected users a contact. None advises
deleting posts: an organization's own template that does is refused (`deletion_advice`).

Channels shape the text: a Weibo post (at most 2000 characters), a WeChat official-account
announcement (title, numbered sections, signature and date), a Douyin video script (shots
with spoken lines, about 60 seconds at four characters a second), a Xiaohongshu post
(a title of at most 20 characters, a feedback-seeking body, tags) and a website notice.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from libs.contracts.enums import Channel, CrisisType, StatementStage, Tier

SLOT = re.compile(r"\{\{\s*([^{}]{1,50}?)\s*\}\}")
ALL_FACTS = "关键事实"
BRAND = "品牌"
EVENT = "事件"
DATE = "日期"
BUILT_IN = frozenset({ALL_FACTS, BRAND, EVENT, DATE})

# What a channel holds: the body's characters, or for Douyin the spoken seconds.
WEIBO_LIMIT = 2000
XIAOHONGSHU_TITLE_LIMIT = 20
XIAOHONGSHU_LIMIT = 1000
DOUYIN_SECONDS = 60
SPOKEN_CHARACTERS_PER_SECOND = 4


def missing(label: str) -> str:
    """The mark a slot without its fact leaves in the text."""
    return f"【待补充：{label}】"


@dataclass(frozen=True)
class Filled:
    """A template filled: the text, the slots it could not fill, and the facts it used."""

    text: str
    missing_facts: list[str]


def fill(template: str, facts: Mapping[str, str], values: Mapping[str, str]) -> Filled:
    """Fill `template`'s slots from the key facts (by label) and the incident's `values`.

    `{{关键事实}}` lists, one per line, the key facts no other slot of the template names, so
    every fact is carried once; blank lines an empty list leaves are folded away.
    """
    absent: list[str] = []
    named = set(slots(template))
    rest = "\n".join(f"{name}：{value}" for name, value in facts.items() if name not in named)

    def slot(found: re.Match[str]) -> str:
        label = found.group(1)
        if label == ALL_FACTS:
            return rest
        if label in values:
            return values[label]
        if label in facts:
            return facts[label]
        if label not in absent:
            absent.append(label)
        return missing(label)

    text = re.sub(r"\n{3,}", "\n\n", SLOT.sub(slot, template))
    return Filled(text.strip(), absent)


def slots(template: str) -> list[str]:
    """The labels a template's slots name, in order, each once."""
    found: list[str] = []
    for match in SLOT.finditer(template):
        if match.group(1) not in found:
            found.append(match.group(1))
    return found


# --- what each statement says, before a channel shapes it -----------------------------------


def _commitment(tier: Tier) -> str:
    """How high the response goes, by tier (3人小组 / 5人专项小组 / 跨部门委员会)."""
    if tier is Tier.RED:
        return "公司主要负责人已牵头成立跨部门专项工作组，全力处理此事"
    if tier is Tier.ORANGE:
        return "我们已成立专项小组，全力处理此事"
    return "我们已安排专人负责跟进处理"


@dataclass(frozen=True)
class Parts:
    """A statement's parts: its title and paragraphs, in the order they are read."""

    title: str
    opening: str
    paragraphs: tuple[tuple[str, str], ...]
    contact: str


def parts(stage: StatementStage, crisis_type: CrisisType | None, tier: Tier) -> Parts:
    """The built-in statement for a stage, crisis type and tier, with its slots."""
    rumour = crisis_type is CrisisType.MISINFORMATION
    contact = "如您受到影响或有任何疑问，请通过{{联系方式}}联系我们，我们将逐一回复。"
    if stage is StatementStage.FIRST_RESPONSE and rumour:
        return Parts(
            "关于网传不实信息的澄清说明",
            "近日，网络上出现关于{{品牌}}的不实信息（{{不实信息}}），引起了大家的关注。"
            "经核查，相关说法与事实不符，特此说明。",
            (
                ("事实情况", "{{事实}}"),
                ("依据", "{{证据}}"),
                ("已采取的措施", "我们已就相关内容向平台提交举报，并保留依法追究责任的权利。"
                 "{{处理措施}}\n{{关键事实}}"),
            ),
            contact + "感谢大家的关注与信任，我们将于{{下次更新时间}}前继续通报进展。",
        )  # fmt: skip
    if stage is StatementStage.FIRST_RESPONSE:
        return Parts(
            "关于{{事件}}的情况说明",
            "关于近期{{事件}}，我们深表歉意。这是我们的责任，" + _commitment(tier) + "。",
            (
                ("目前掌握的情况", "{{事件经过}}"),
                ("已采取的措施", "{{处理措施}}\n{{关键事实}}"),
            ),
            contact + "调查仍在进行，我们将于{{下次更新时间}}前公布进一步进展。",
        )
    if stage is StatementStage.DETAILED_REPLY and rumour:
        return Parts(
            "关于网传不实信息的进一步说明",
            "针对此前网络上关于{{品牌}}的不实信息，我们已完成全面核查，现将情况说明如下。",
            (
                ("核查结论", "{{事实}}"),
                ("依据", "{{证据}}"),
                ("后续措施", "{{处理措施}}\n{{关键事实}}"),
            ),
            contact + "感谢大家的理性判断与支持。",
        )
    if stage is StatementStage.DETAILED_REPLY:
        return Parts(
            "关于{{事件}}的调查结果与处理方案",
            "再次就{{事件}}向受到影响的用户致以诚挚的歉意。经调查，现将详细情况与处理方案公布如下。",
            (
                ("事件经过", "{{事件经过}}"),
                ("原因", "{{原因}}"),
                ("影响范围", "{{影响范围}}"),
                ("处理措施与时间表", "{{处理措施}}"),
                ("补偿方案", "{{补偿方案}}\n{{关键事实}}"),
            ),
            contact,
        )
    return Parts(
        "关于{{事件}}的整改情况公告",
        "感谢大家在{{事件}}期间的监督与耐心。我们对此事造成的影响再次致歉，现将整改情况公告如下。",
        (
            ("原因", "{{原因}}"),
            ("整改措施", "{{整改措施}}"),
            ("完成情况", "{{完成情况}}\n{{关键事实}}"),
        ),
        contact + "我们将持续改进，欢迎大家继续监督。",
    )


# --- how each channel shapes the parts ------------------------------------------------------

_NUMERALS = "一二三四五六七八九十"


def _weibo(p: Parts) -> str:
    body = "\n".join(text for _, text in p.paragraphs)
    return f"【{p.title}】{p.opening}\n{body}\n{p.contact}\n#{{{{品牌}}}}回应#"


def _announcement(p: Parts) -> str:
    sections = "\n".join(
        f"{_NUMERALS[n]}、{heading}\n{text}" for n, (heading, text) in enumerate(p.paragraphs)
    )
    return f"{p.title}\n\n{p.opening}\n\n{sections}\n\n{p.contact}\n\n{{{{品牌}}}}\n{{{{日期}}}}"


def _douyin(p: Parts) -> str:
    shots = [f"【镜头1｜负责人出镜，正面中景，语气诚恳】\n口播：{p.opening}"]
    for n, (heading, text) in enumerate(p.paragraphs, start=2):
        shots.append(f"【镜头{n}｜字幕：{heading}】\n口播：{text}")
    shots.append(f"【镜头{len(shots) + 1}｜字幕：联系方式】\n口播：{p.contact}")
    return f"视频脚本：{p.title}\n" + "\n".join(shots)


def _xiaohongshu(p: Parts) -> str:
    body = "\n".join(f"📌{heading}：{text}" for heading, text in p.paragraphs)
    return (
        f"标题：{{{{品牌}}}}给大家的说明\n{p.opening}\n{body}\n{p.contact}\n"
        "大家的每一条意见我们都会认真看，欢迎在评论区或私信告诉我们。\n"
        "#{{品牌}}# #用户反馈#"
    )


SHAPES = {
    Channel.WEIBO: _weibo,
    Channel.WECHAT: _announcement,
    Channel.WEBSITE: _announcement,
    Channel.DOUYIN: _douyin,
    Channel.XIAOHONGSHU: _xiaohongshu,
}


def built_in(
    stage: StatementStage, channel: Channel, crisis_type: CrisisType | None, tier: Tier
) -> str:
    """The built-in template for a stage and channel, worded for the crisis type and tier."""
    return SHAPES[channel](parts(stage, crisis_type, tier))


def fits(channel: Channel, text: str) -> list[str]:
    """Why `text` does not fit its channel, in words for the team; empty when it fits."""
    problems: list[str] = []
    if channel is Channel.WEIBO and len(text) > WEIBO_LIMIT:
        problems.append(f"微博正文 {len(text)} 字，超过 {WEIBO_LIMIT} 字")
    if channel is Channel.XIAOHONGSHU:
        title = text.split("\n", 1)[0].removeprefix("标题：")
        if len(title) > XIAOHONGSHU_TITLE_LIMIT:
            problems.append(f"小红书标题 {len(title)} 字，超过 {XIAOHONGSHU_TITLE_LIMIT} 字")
        if len(text) > XIAOHONGSHU_LIMIT:
            problems.append(f"小红书正文 {len(text)} 字，超过 {XIAOHONGSHU_LIMIT} 字")
    if channel is Channel.DOUYIN:
        spoken = sum(len(line) - 3 for line in text.splitlines() if line.startswith("口播："))
        seconds = -(-spoken // SPOKEN_CHARACTERS_PER_SECOND)
        if seconds > DOUYIN_SECONDS:
            problems.append(f"抖音口播约 {seconds} 秒，超过 {DOUYIN_SECONDS} 秒")
    return problems


def stage_facts(stage: StatementStage, crisis_type: CrisisType | None) -> Sequence[str]:
    """The key facts a stage's built-in template asks for, by label."""
    every = [
        label
        for channel in SHAPES
        for label in slots(built_in(stage, channel, crisis_type, Tier.YELLOW))
    ]
    return list(dict.fromkeys(label for label in every if label not in BUILT_IN))
