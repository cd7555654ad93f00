"""Scripted streams for `detection_eval.py`: crises and non-crises of fictional brands.

Written for the detection benchmark and used nowhere else (not in training, not in tests),
so the figures say how detection behaves on streams it was not tuned on. Each stream is a
brand with its keywords, an optional history that arrives as a backfill, and live phases
played window by window. A phase mixes voices (ordinary chatter, praise in current slang,
mild complaints, safety complaints, a media report, rumour talk, …) at a rate per 15
minutes; a rhythm multiplies the rate by the hour of day in Beijing time.

Pure: the same stream and start time always give the same posts.
"""

import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

BEIJING = timezone(timedelta(hours=8))
WINDOW = timedelta(minutes=15)
_SLOT = re.compile(r"\{(\w+)\}")

Post = dict[str, Any]

# Fillers shared by every voice: a stream keeps its brand and product, the rest varies.
POOLS: dict[str, tuple[str, ...]] = {
    "city": ("杭州", "成都", "武汉", "西安", "苏州", "青岛", "长沙", "厦门", "昆明", "天津"),
    "store": ("旗舰店", "京东自营", "门店", "直播间", "官方小程序", "超市"),
    "n": ("2", "3", "5", "7", "8", "12", "20"),
    "days": ("三天", "一周", "十天", "半个月", "两周"),
    "emoji": ("", "", "😂", "😭", "🙃", "[允悲]", "[doge]", "🤔"),
    "happy": ("", "", "❤️", "😍", "[赞]", "✨", "👍", "[心]"),
    "angry": ("", "[怒]", "😡", "🤬", "[抓狂]", "!!!"),
}


@dataclass(frozen=True)
class Voice:
    """A way people post about the brand: its templates and who posts them."""

    templates: tuple[str, ...]
    kind: str = "user"
    followers: tuple[int, int] = (50, 5000)
    verified: bool = False
    sources: tuple[str, ...] = ("weibo", "xiaohongshu", "douyin", "weibo")
    reach: tuple[int, int] = (200, 8000)


def _media(
    templates: tuple[str, ...],
    *,
    followers: tuple[int, int],
    reach: tuple[int, int],
    sources: tuple[str, ...] = ("news",),
) -> Voice:
    """A verified media account: a report seen by far more people than a user's post."""
    return Voice(templates, "media", followers, True, sources, reach)


VOICES: dict[str, Voice] = {
    "chatter": Voice(
        (
            "今天在{store}买了{b}的{p}，还没拆，回头说说用着怎么样",
            "有人用过{b}{p}吗？想问下和别家比怎么样",
            "{b}{p}这个月是不是换包装了？我看着跟以前不太一样",
            "{city}的{b}线下店几点关门啊，想下班过去看看",
            "{b}出新品了，{p}新口味，有点好奇",
            "看到{b}在{city}开了快闪店，周末去逛逛",
            "{b}{p}的会员积分怎么兑换？找了半天没找到入口",
            "朋友推荐了{b}的{p}，先买一个试试{emoji}",
            "对比了{n}家，最后还是下单了{b}{p}",
            "请问{b}{p}保质期一般多久？",
            "{b}的客服电话是多少来着，想改个收货地址",
            "刷到{b}的广告了，{p}打折力度还可以",
        )
    ),
    "praise": Voice(
        (
            "{b}的{p}用了{days}，真的不错，会回购{happy}",
            "{b}{p}性价比挺高的，推荐给身边朋友了{happy}",
            "夸一下{b}客服，问题当天就解决了{happy}",
            "{b}{p}包装很用心，细节拉满{happy}",
        )
    ),
    "mild": Voice(
        (
            "{b}{p}快递有点慢，等了{days}才到",
            "{b}{p}味道一般般吧，没有宣传的那么好",
            "{b}客服回复有点慢，不过最后还是解决了",
            "{b}这次{p}涨价了，有点肉疼{emoji}",
            "{b}{p}的包装有点难拆，建议改进一下",
            "{b}{p}缺货好几天了，什么时候补货啊",
        )
    ),
    "slang_praise": Voice(
        (
            "{b}×{collab}联名绝了！！{p}直接封神{happy}",
            "救命{b}这次联名也太好看了吧，狠狠爱住{happy}",
            "{b}{collab}联名yyds，蹲了{n}分钟终于抢到{happy}",
            "谁懂啊{b}联名款{p}真的绝绝子，已经下单第{n}个了{happy}",
            "家人们冲！{b}和{collab}的联名款美哭了{happy}",
            "{b}这波联名赢麻了，{p}颜值天花板{happy}",
            "抢到{b}联名{p}的姐妹扣1，太上头了{happy}",
            "{b}×{collab}是懂营销的，这个{p}我能吹一年{happy}",
            "啊啊啊{b}联名款到手了，质感好到哭{happy}",
            "已经安利给全宿舍了，{b}联名{p}冲就完事{happy}",
            "{b}联名款秒没，手慢无，求补货{emoji}",
            "{b}这次联名创意满分，策划是懂年轻人的{happy}",
        ),
        followers=(80, 30000),
    ),
    "viral_gripe": Voice(
        (
            "{b}联名款根本抢不到，说白了就是饥饿营销{angry}",
            "{b}联名{p}到手有瑕疵，品控能不能上点心",
            "黄牛把{b}联名款炒到{n}倍价，官方管管吧",
        )
    ),
    "safety": Voice(
        (
            "{b}的{p}吃完孩子上吐下泻，去医院说是急性肠胃炎{angry}",
            "在{store}买的{b}{p}里吃出异物，恶心死了，已经向市场监管局投诉",
            "{b}{p}批次有问题吧？我们全家吃了都拉肚子{angry}",
            "{b}{p}打开有一股馊味，还在保质期内，这品控太吓人了",
            "刚看到好多人说{b}{p}吃坏肚子，我家也是，已经报警留证据了",
            "{b}{p}里有霉点！！客服只会说退款，这是退款能解决的吗{angry}",
            "孩子吃了{b}{p}住院{days}了，{b}到现在没人出来说话{angry}",
            "求扩散：{b}{p}疑似食品安全问题，{city}已经有{n}个家庭中招",
            "{b}{p}出问题不止一例了，市场监管部门什么时候介入",
            "退货了，{b}{p}这个批次大家千万别买，吃完头晕恶心",
        ),
        followers=(30, 3000),
    ),
    "safety_media": _media(
        (
            "【关注】多名消费者反映食用{b}{p}后出现呕吐腹泻，{city}市场监管局已介入调查",
            "#{b}{p}食品安全# 记者调查：{n}批次产品被指异味变质，涉事企业尚未回应",
        ),
        followers=(800_000, 6_000_000),
        reach=(200_000, 2_000_000),
        sources=("news", "weibo"),
    ),
    "leak": Voice(
        (
            "我的{b}账号信息被泄露了？刚接到骗子电话，能准确说出我的订单和地址{angry}",
            "{b}用户数据泄露是真的，我的手机号和身份证号都被人拿去注册了",
            "接到自称{b}客服的诈骗电话，对方知道我买过什么，{b}是不是把数据卖了",
            "{b}APP里能看到别人的收货地址和电话，这是什么低级漏洞{angry}",
            "{b}泄露用户隐私必须给个说法，我已经向网信办举报",
            "刚查了暗网论坛，有人在卖{b}的用户数据，{n}万条{angry}",
            "被{b}泄露的个人信息搞得天天接骚扰电话，要求赔偿",
            "{b}到现在都没通知用户数据泄露，太不负责任了",
        )
    ),
    "leak_media": _media(
        (
            "【独家】{b}疑似发生大规模用户数据泄露，涉及手机号、住址等个人信息",
            "网信部门就{b}用户信息泄露事件约谈企业负责人，要求限期整改",
        ),
        followers=(1_000_000, 8_000_000),
        reach=(300_000, 3_000_000),
        sources=("news", "weibo"),
    ),
    "bank": Voice(
        (
            "{b}信用卡莫名被扣了年费，打客服{n}次都说在处理",
            "{b}的APP转账又失败了，钱扣了没到账，急死了",
            "{b}催收电话打到我单位去了，这样合规吗？",
            "{b}理财产品到期不兑付，客户经理电话也不接",
            "在{b}办业务排了{n}个小时，只开一个窗口",
            "{b}手机银行升级以后登不上去，工资都取不出来{angry}",
            "{b}乱收账户管理费，我都不知道什么时候开通的",
            "投诉{b}：贷款提前还款被收高额违约金，合同里根本没写清楚",
            "{b}客服机器人答非所问，转人工等了{n}十分钟",
            "{b}的信用卡分期利率宣传和实际不一样，这不是误导消费吗",
        ),
        sources=("weibo", "complaint", "zhihu", "forum"),
    ),
    "expose": _media(
        ("【深度调查】{b}{p}生产线卫生堪忧：暗访{n}天，记者拍到过期原料重新贴标",),
        followers=(5_000_000, 20_000_000),
        reach=(2_000_000, 10_000_000),
    ),
    "expose_reaction": Voice(
        (
            "看完{b}的暗访报道，以后再也不买了，过期原料重新贴标太恶心{angry}",
            "{b}被曝光用过期原料，之前买的{p}还能要求退款吗",
            "#{b}过期原料# 这种企业必须严查，给消费者一个交代{angry}",
            "原来{b}{p}是这么生产出来的，家里还有两箱，全扔了",
            "{b}的道歉呢？被央媒曝光了还装死{angry}",
            "转发支持彻查{b}，食品安全不是小事",
        ),
        followers=(50, 20000),
    ),
    "rumour": Voice(
        (
            "网传{b}{p}含有致癌物，是真的吗？家里还有好几包",
            "听说{b}用的是地沟油，有没有人知道真假",
            "据说{b}{p}被查出致癌物超标，真的假的？",
            "群里都在转{b}{p}致癌的消息，有知道内情的吗",
            "刚刷到说{b}{p}原料有问题会致癌，求辟谣",
            "{b}{p}致癌是谣言还是真的？看得我心慌",
            "听朋友说{b}的{p}被下架了，是真的吗",
            "网上传{b}{p}用地沟油，不知道是不是造谣",
        )
    ),
    "debunk": Voice(
        (
            "辟谣：{b}{p}致癌的说法不实，检测报告全部合格",
            "那个{b}致癌的消息是谣言，官方已经报警处理造谣者了",
            "别再转了，{b}地沟油的说法早被辟谣了，是同行恶意造谣",
        ),
        followers=(500, 80000),
    ),
    "trad_crisis": Voice(
        (
            "{tb}的{tp}吃完小孩上吐下瀉，去醫院說是急性腸胃炎，太可怕了{angry}",
            "在{tstore}買的{tb}{tp}裡面有異物，已經向消委會投訴",
            "{tb}{tp}這批次是不是有問題？我們全家吃了都拉肚子",
            "{tb}出事了還不回應，客服只會叫我等，孩子還在醫院{angry}",
            "求轉發：{tb}{tp}疑似食安問題，已經有{n}個家庭中招",
            "{tb}{tp}開封有股餿味，還在保質期內，品管太差了",
        ),
        sources=("weibo", "forum", "news", "other"),
    ),
    "trad_media": _media(
        ("【食安】多名消費者指食用{tb}{tp}後不適，衞生署已介入調查",),
        followers=(900_000, 4_000_000),
        reach=(300_000, 2_000_000),
    ),
    "trad_chatter": Voice(
        (
            "今天去{tstore}買了{tb}的{tp}，味道還可以",
            "{tb}{tp}最近在做活動，買二送一",
            "有人知道{tb}新出的{tp}好吃嗎？",
            "{tb}{tp}一直是我家冰箱常備",
        ),
        sources=("weibo", "forum", "other"),
    ),
}


@dataclass(frozen=True)
class Phase:
    """Posts for `minutes`: `per_window` per 15 minutes, drawn from voices by weight."""

    minutes: int
    per_window: float
    mix: dict[str, float]
    # Posts of these voices open the phase, one each, before the rest.
    openers: tuple[str, ...] = ()
    # The phase where the crisis starts (or, for a quiet stream, where it is tested).
    event: bool = False


@dataclass(frozen=True)
class Stream:
    """One scripted kind: what it is, the brand, its history and live phases, what to expect."""

    kind: str
    about: str
    brand: str
    product: str
    keywords: tuple[str, ...]
    live: tuple[Phase, ...]
    history: tuple[Phase, ...] = ()
    expect_incident: bool = False
    expect_type: str | None = None
    rhythm: bool = False
    slots: dict[str, str] = field(default_factory=dict)


def _chatter(per_window: float, minutes: int, mild: float = 0.2, **extra: Any) -> Phase:
    """Ordinary chatter: questions and purchases, some praise, a share of mild complaints."""
    return Phase(minutes, per_window, {"chatter": 0.8 - mild, "praise": 0.2, "mild": mild}, **extra)


STREAMS: tuple[Stream, ...] = (
    Stream(
        kind="real_crisis",
        about="food-safety wave: complaints, then a news report, then a flood",
        brand="澄禾食品",
        product="燕麦脆",
        keywords=("澄禾", "澄禾食品", "燕麦脆"),
        history=(_chatter(8, 24 * 60),),
        live=(
            _chatter(8, 60),
            Phase(30, 30, {"safety": 0.7, "chatter": 0.3}, event=True),
            Phase(45, 90, {"safety": 0.8, "chatter": 0.2}, openers=("safety_media",)),
        ),
        expect_incident=True,
        expect_type="product_quality",
    ),
    Stream(
        kind="slow_burn",
        about="banking complaints building over six hours",
        brand="汇川银行",
        product="信用卡",
        keywords=("汇川银行", "汇川"),
        history=(_chatter(6, 24 * 60, mild=0.15),),
        live=(
            _chatter(6, 30),
            Phase(120, 10, {"bank": 0.5, "chatter": 0.5}, event=True),
            Phase(120, 18, {"bank": 0.7, "chatter": 0.3}),
            Phase(120, 30, {"bank": 0.85, "chatter": 0.15}),
        ),
        expect_incident=True,
        expect_type=None,  # fees, failed logins, collection calls: several kinds at once
    ),
    Stream(
        kind="media_expose",
        about="one heavyweight investigative report, then reactions",
        brand="鲜丰乳品",
        product="酸奶",
        keywords=("鲜丰", "鲜丰乳品"),
        history=(_chatter(5, 24 * 60),),
        live=(
            _chatter(5, 45),
            Phase(
                60, 25, {"expose_reaction": 0.75, "chatter": 0.25}, openers=("expose",), event=True
            ),
        ),
        expect_incident=True,
        expect_type="product_quality",
    ),
    Stream(
        kind="viral_praise",
        about="a product collaboration going viral: ~220 posts in 15 minutes, ~92 % praise",
        brand="栖木茶饮",
        product="联名杯",
        keywords=("栖木", "栖木茶饮"),
        history=(_chatter(4, 24 * 60),),
        live=(
            _chatter(4, 30),
            Phase(
                45,
                220,
                {"slang_praise": 0.92, "viral_gripe": 0.05, "chatter": 0.03},
                event=True,
            ),
            _chatter(20, 30),
        ),
        slots={"collab": "星河动画"},
    ),
    Stream(
        kind="new_watchlist",
        about="a new watchlist with three hours of history at ~10 posts per 15 minutes",
        brand="朗途出行",
        product="网约车",
        keywords=("朗途", "朗途出行"),
        history=(_chatter(10, 3 * 60),),
        live=(_chatter(10, 60, event=True),),
    ),
    Stream(
        kind="new_crisis",
        about="a crisis in the first hour of a new watchlist (no history at all)",
        brand="禾谷烘焙",
        product="吐司",
        keywords=("禾谷", "禾谷烘焙"),
        live=(
            _chatter(6, 20),
            Phase(40, 60, {"safety": 0.75, "chatter": 0.25}, openers=("safety_media",), event=True),
        ),
        expect_incident=True,
        expect_type="product_quality",
    ),
    Stream(
        kind="day_night_week",
        about="a week of day/night rhythm, then an ordinary morning ramp-up",
        brand="云栈咖啡",
        product="拿铁",
        keywords=("云栈", "云栈咖啡"),
        history=(_chatter(12, 7 * 24 * 60),),
        live=(_chatter(12, 4 * 60, event=True),),
        rhythm=True,
    ),
    Stream(
        kind="rumour",
        about="网传/听说/是真的吗 about a carcinogen, with a few debunks",
        brand="麦旭粮油",
        product="菜籽油",
        keywords=("麦旭", "麦旭粮油"),
        history=(_chatter(5, 24 * 60),),
        live=(
            _chatter(5, 30),
            Phase(60, 50, {"rumour": 0.75, "debunk": 0.1, "chatter": 0.15}, event=True),
        ),
        expect_incident=True,
        expect_type="misinformation",
    ),
    Stream(
        kind="data_leak",
        about="users report a leak of their data, then the regulator is in the news",
        brand="星链优选",
        product="会员",
        keywords=("星链优选", "星链"),
        history=(_chatter(6, 24 * 60),),
        live=(
            _chatter(6, 30),
            Phase(30, 25, {"leak": 0.8, "chatter": 0.2}, event=True),
            Phase(30, 60, {"leak": 0.85, "chatter": 0.15}, openers=("leak_media",)),
        ),
        expect_incident=True,
        expect_type="data_leak",
    ),
    Stream(
        kind="traditional",
        about="a food-safety crisis written in traditional characters",
        brand="福滿堂",
        product="月餅",
        keywords=("福滿堂", "福满堂"),
        history=(Phase(24 * 60, 5, {"trad_chatter": 1.0}),),
        live=(
            Phase(30, 5, {"trad_chatter": 1.0}),
            Phase(
                45,
                60,
                {"trad_crisis": 0.8, "trad_chatter": 0.2},
                openers=("trad_media",),
                event=True,
            ),
        ),
        expect_incident=True,
        expect_type="product_quality",
        slots={"tb": "福滿堂", "tp": "月餅", "tstore": "百貨公司"},
    ),
    Stream(
        kind="calm_mild",
        about="a calm day with a steady share of mild complaints",
        brand="青禾家居",
        product="床垫",
        keywords=("青禾家居", "青禾"),
        history=(_chatter(6, 24 * 60, mild=0.25),),
        live=(_chatter(6, 3 * 60, mild=0.3, event=True),),
    ),
)

_HOURLY = (
    0.15,
    0.1,
    0.06,
    0.05,
    0.05,
    0.08,
    0.2,
    0.5,
    0.9,
    1.1,
    1.2,
    1.3,
    1.4,
    1.2,
    1.1,
    1.1,
    1.2,
    1.3,
    1.5,
    1.7,
    1.8,
    1.6,
    1.0,
    0.4,
)


def rate_factor(stream: Stream, at: datetime) -> float:
    """How much busier than its base rate the stream is at `at` (1 without a rhythm)."""
    return _HOURLY[at.astimezone(BEIJING).hour] if stream.rhythm else 1.0


def _fill(template: str, stream: Stream, rng: random.Random) -> str:
    values = {"b": stream.brand, "p": stream.product, **stream.slots}

    def slot(match: re.Match[str]) -> str:
        name = match.group(1)
        return values[name] if name in values else rng.choice(POOLS[name])

    return _SLOT.sub(slot, template)


def _post(stream: Stream, voice_name: str, at: datetime, rng: random.Random, serial: int) -> Post:
    voice = VOICES[voice_name]
    low, high = voice.followers
    followers = round(low * (high / low) ** rng.random())
    reach_low, reach_high = voice.reach
    views = round(reach_low * (reach_high / reach_low) ** rng.random())
    handle = (
        f"{voice_name}-{rng.randrange(10**6):06d}" if voice.kind == "user" else f"{voice_name}台"
    )
    return {
        "source": rng.choice(voice.sources),
        "external_id": f"{stream.kind}-{serial:07d}",
        "text": _fill(rng.choice(voice.templates), stream, rng),
        "url": None,
        "posted_at": at.isoformat(),
        "author": {
            "handle": handle,
            "followers": followers,
            "verified": voice.verified,
            "kind": voice.kind,
        },
        "metrics": {
            "reposts": views // 200,
            "comments": views // 400,
            "likes": views // 50,
            "views": views,
        },
        "repost_of": None,
    }


def _phase_posts(
    stream: Stream, phase: Phase, start: datetime, rng: random.Random, serial: Callable[[], int]
) -> Iterator[Post]:
    """Posts of one phase from `start`, spread at random within each minute."""
    for name in phase.openers:
        yield _post(stream, name, start, rng, serial())
    voices, weights = zip(*phase.mix.items(), strict=True)
    carry = 0.0
    for minute in range(phase.minutes):
        at = start + timedelta(minutes=minute)
        carry += phase.per_window / 15 * rate_factor(stream, at)
        count, carry = int(carry), carry - int(carry)
        for _ in range(count):
            moment = at + timedelta(seconds=rng.uniform(0, 59))
            yield _post(stream, rng.choices(voices, weights)[0], moment, rng, serial())


@dataclass(frozen=True)
class Script:
    """A stream laid out in time: the backfill, the live posts, when the event starts."""

    history: list[Post]
    live: list[Post]
    live_start: datetime
    event_start: datetime
    end: datetime


def script(stream: Stream, live_start: datetime) -> Script:
    """Lay `stream` out so its live part starts at `live_start` and its history ends there."""
    rng = random.Random(f"detection:{stream.kind}")
    counter = iter(range(10**7))

    def serial() -> int:
        return next(counter)

    history: list[Post] = []
    at = live_start - timedelta(minutes=sum(p.minutes for p in stream.history))
    for phase in stream.history:
        history.extend(_phase_posts(stream, phase, at, rng, serial))
        at += timedelta(minutes=phase.minutes)
    live: list[Post] = []
    at, event_start = live_start, live_start
    for phase in stream.live:
        if phase.event:
            event_start = at
        live.extend(_phase_posts(stream, phase, at, rng, serial))
        at += timedelta(minutes=phase.minutes)
    live.sort(key=lambda post: str(post["posted_at"]))
    return Script(history, live, live_start, event_start, at)
