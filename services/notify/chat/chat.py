"""Chat alerts for WeCom (企业微信), DingTalk (钉钉) and Feishu/Lark (飞书) group bots.

Each platform has its own message format and its own way of proving the sender: WeCom's
credential is the `key` in the webhook URL, DingTalk signs a millisecond timestamp into the
URL query (加签), Feishu puts a second timestamp and its signature in the body (签名校验).
`render` turns an integration event into the request to send and does no I/O, so the
delivery code decides when and how to send; it must render again on every attempt,
because both signatures expire an hour after their timestamp. All three platforms answer
HTTP 200 even when they refuse a message, with an error code in the JSON body, which is
why `accepted` reads the body and not only the status.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from libs.contracts.enums import EndpointKind, Tier
from libs.contracts.response import IntegrationEventEmitted
from services.notify.chat.cards import Card, Deadline
from services.notify.chat.renderers import build_card
from services.notify.chat.signing import dingtalk_signed_url, feishu_sign, feishu_timestamp

CHAT_KINDS = frozenset({EndpointKind.WECOM, EndpointKind.DINGTALK, EndpointKind.FEISHU})
JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}
# WeCom refuses markdown content over 4096 bytes; the others allow more, one budget fits all.
MAX_MARKDOWN_BYTES = 4096
# A word every alert carries, for bots protected by a keyword (自定义关键词) instead of a secret.
KEYWORD = "舆情预警"

# Feishu's card header templates include one named like each tier's colour.
FEISHU_TEMPLATES: dict[Tier, str] = {tier: tier.value for tier in Tier}
_FEISHU_NEUTRAL = "grey"
# WeCom markdown knows three colours: info (green), comment (grey) and warning (orange-red);
# blue, the mildest tier, shows grey and every other tier warns.
_WECOM_TIER_COLOURS: dict[Tier, str] = {
    tier: "comment" if tier is Tier.BLUE else "warning" for tier in Tier
}
_LINK_LABEL = "查看事件"
# The platforms' codes have at most seven digits; a longer number is not one of theirs.
_LARGEST_CODE = 10**7


@dataclass(frozen=True)
class ChatRequest:
    """One POST to a group bot: where, with which headers, and the JSON body."""

    url: str
    headers: dict[str, str]
    json_body: dict[str, Any]


def render(
    kind: EndpointKind,
    url: str,
    secret: str | None,
    event: IntegrationEventEmitted,
    now: datetime,
    *,
    console_url: str | None = None,
) -> ChatRequest:
    """Return the signed request that posts `event` as an alert card to a `kind` group bot.

    `secret` is the bot's signing secret (DingTalk 加签 `SEC…`, Feishu 签名校验); without
    one the request is unsigned, for bots protected by keyword or IP list. WeCom has no
    signature and ignores it. `now` is the signing time; `console_url` is the base of the
    console's incident pages (the incident id is appended, or fills `{incident_id}`).
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if kind not in CHAT_KINDS:
        raise ValueError(f"{kind.value} endpoints are not chat bots")
    card = build_card(event, console_url=console_url)
    if kind is EndpointKind.WECOM:
        return ChatRequest(url, dict(JSON_HEADERS), wecom_body(card))
    if kind is EndpointKind.DINGTALK:
        signed = dingtalk_signed_url(url, secret, now) if secret else url
        return ChatRequest(signed, dict(JSON_HEADERS), dingtalk_body(card))
    body = feishu_body(card)
    if secret:
        timestamp = feishu_timestamp(now)
        body = {"timestamp": str(timestamp), "sign": feishu_sign(secret, timestamp), **body}
    return ChatRequest(url, dict(JSON_HEADERS), body)


def accepted(kind: EndpointKind, status: int, body: bytes) -> bool:
    """Return whether the platform took the message: a 2xx status and, for chat bots, code 0."""
    return failure_reason(kind, status, body) is None


def status_reason(status: int) -> str:
    """Return the delivery log's reason for a non-2xx answer: its status, in our words."""
    reason = f"receiver answered {status}"
    if 300 <= status < 400:
        reason += " (redirects are not followed; give the final URL)"
    return reason


def failure_reason(kind: EndpointKind, status: int, body: bytes) -> str | None:
    """Return why the platform refused the message, for the delivery log, or None if it took it.

    WeCom and DingTalk answer `{"errcode": 0, "errmsg": "ok"}`; Feishu answers `{"code": 0}`
    (older bot versions `{"StatusCode": 0}`). Anything else from a chat bot, an answer that is
    not JSON included, is a failure: a proxy's HTML page is not a delivered alert. The reason
    is in our words with at most the platform's numeric code, never the text of the answer:
    the delivery log is read back by the organization, and whatever a URL answered must not
    travel back that way (docs/chat-alerts.md says what the common codes mean).
    """
    if not 200 <= status < 300:
        return status_reason(status)
    if kind not in CHAT_KINDS:
        return None
    try:
        answer = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return f"receiver answered {status} with something other than JSON"
    if not isinstance(answer, dict):
        return f"receiver answered {status} with JSON that is not an object"
    if kind is EndpointKind.FEISHU:
        code_key = "code" if "code" in answer else "StatusCode"
    else:
        code_key = "errcode"
    code = answer.get(code_key)
    numeric = isinstance(code, int) and not isinstance(code, bool)
    if numeric and code == 0:
        return None
    if code is None:
        return f"receiver answered {status} without an {code_key}"
    if numeric and abs(code) < _LARGEST_CODE:
        return f"the platform refused the message: {code_key} {code}"
    return f"the platform refused the message: {code_key} is not one of its codes"


# --- WeCom ----------------------------------------------------------------------------------


def wecom_body(card: Card) -> dict[str, Any]:
    """Return a WeCom `markdown` message: quoted facts, coloured tier, link, grey footer."""
    lines = [f"## {card.headline}"]
    for label, value in card.facts:
        if label == "等级" and card.tier is not None:
            value = f'<font color="{_WECOM_TIER_COLOURS[card.tier]}">{value}</font>'
        lines.append(f"> {label}：{value}")
    if card.reasons:
        lines += ["", "**原因**", *(f"> {n}. {r}" for n, r in enumerate(card.reasons, 1))]
    if card.deadlines:
        lines += ["", "**时限（北京时间）**", *(f"> {_deadline(d)}" for d in card.deadlines)]
    if handles := card.handles("wecom"):
        # WeCom's markdown mentions a member by `<@userid>`.
        lines += ["", " ".join(f"<@{handle}>" for handle in handles)]
    footer = [f"[{label}]({target})" for label, target in _links(card)]
    footer.append(f'<font color="comment">{KEYWORD} · {card.occurred}（北京时间）</font>')
    content = _fit("\n".join(lines), "\n\n" + "\n".join(footer), MAX_MARKDOWN_BYTES)
    return {"msgtype": "markdown", "markdown": {"content": content}}


# --- DingTalk -------------------------------------------------------------------------------


def dingtalk_body(card: Card) -> dict[str, Any]:
    """Return a DingTalk `actionCard` with a 查看事件 button, or `markdown` when there is no link.

    DingTalk markdown needs blank lines between paragraphs; `title` is what the chat list
    previews, so it is the headline.
    """
    parts = [f"### {card.headline}"]
    parts.append("\n".join(f"- **{label}**：{value}" for label, value in card.facts))
    if card.reasons:
        reasons = "\n".join(f"{n}. {r}" for n, r in enumerate(card.reasons, 1))
        parts += ["**原因**", reasons]
    if card.deadlines:
        parts += ["**时限（北京时间）**", "\n".join(f"- {_deadline(d)}" for d in card.deadlines)]
    handles = card.handles("dingtalk")
    if handles:
        # DingTalk notifies those named in `at` whose `@userId` also appears in the text.
        parts.append(" ".join(f"@{handle}" for handle in handles))
    links = card.extra_links if card.link is None or not handles else _links(card)
    footer = [f"[{label}]({target})" for label, target in links]
    footer.append(f"{KEYWORD} · {card.occurred}（北京时间）")
    body = "\n\n".join(part for part in parts if part)
    text = _fit(body, "\n\n" + "\n\n".join(footer), MAX_MARKDOWN_BYTES)
    if handles:
        # An actionCard cannot mention anyone, so a mention goes as markdown, link in text.
        markdown = {"title": card.headline, "text": text}
        return {"msgtype": "markdown", "markdown": markdown, "at": {"atUserIds": handles}}
    if card.link is None:
        return {"msgtype": "markdown", "markdown": {"title": card.headline, "text": text}}
    return {
        "msgtype": "actionCard",
        "actionCard": {
            "title": card.headline,
            "text": text,
            "btnOrientation": "0",
            "singleTitle": _LINK_LABEL,
            "singleURL": card.link,
        },
    }


# --- Feishu ---------------------------------------------------------------------------------


def feishu_body(card: Card) -> dict[str, Any]:
    """Return a Feishu `interactive` card whose header colour is the tier's template."""
    elements: list[dict[str, Any]] = []
    if card.facts:
        facts = "\n".join(f"**{label}**：{value}" for label, value in card.facts)
        elements.append({"tag": "markdown", "content": facts})
    if card.reasons:
        reasons = "\n".join(f"{n}. {r}" for n, r in enumerate(card.reasons, 1))
        elements.append({"tag": "markdown", "content": f"**原因**\n{reasons}"})
    if card.deadlines:
        deadlines = "\n".join(f"- {_deadline(d)}" for d in card.deadlines)
        elements.append({"tag": "markdown", "content": f"**时限（北京时间）**\n{deadlines}"})
    if handles := card.handles("feishu"):
        # A Feishu card's markdown mentions a user by open_id as `<at id=…></at>`.
        mentions = " ".join(f"<at id={handle}></at>" for handle in handles)
        elements.append({"tag": "markdown", "content": mentions})
    buttons = [
        {
            "tag": "button",
            "text": {"tag": "plain_text", "content": label},
            "type": "primary" if target == card.link else "default",
            "url": target,
        }
        for label, target in _links(card)
    ]
    if buttons:
        elements.append({"tag": "action", "actions": buttons})
    note = f"{KEYWORD} · {card.occurred}（北京时间）"
    elements.append({"tag": "note", "elements": [{"tag": "plain_text", "content": note}]})
    template = FEISHU_TEMPLATES[card.tier] if card.tier else _FEISHU_NEUTRAL
    return {
        "msg_type": "interactive",
        "card": {
            "config": {"wide_screen_mode": True},
            "header": {
                "template": template,
                "title": {"tag": "plain_text", "content": card.headline},
            },
            "elements": elements,
        },
    }


# --- shared ---------------------------------------------------------------------------------


def _links(card: Card) -> list[tuple[str, str]]:
    links = [(_LINK_LABEL, card.link)] if card.link else []
    return links + list(card.extra_links)


def _deadline(deadline: Deadline) -> str:
    note = f"（{deadline.note}）" if deadline.note else ""
    return f"{deadline.title}：{deadline.due} 截止{note}"


def _fit(body: str, footer: str, limit: int) -> str:
    """Return body + footer within `limit` UTF-8 bytes, shortening the body, never the footer."""
    budget = limit - len(footer.encode())
    encoded = body.encode()
    if len(encoded) <= budget:
        return body + footer
    cut = encoded[: max(budget - len("…".encode()), 0)].decode(errors="ignore")
    return cut + "…" + footer
