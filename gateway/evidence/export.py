"""An evidence bundle as a document for a platform's report desk (举报) or for counsel.

JSON for systems and one standalone HTML page for people (inline CSS, no script, nothing
loaded from the network, so it reads the same when filed years later). The SHA-256 of the
canonical JSON is printed in the page, so the two can be shown to be the same evidence.
Times are ISO 8601 in UTC in the JSON and Beijing time in the page.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jinja2 import Environment, select_autoescape

from libs.contracts.enums import EvidencePurpose, Source
from libs.contracts.vocabulary import SOURCE_LABELS
from libs.database.tables import EvidenceBundle, EvidenceItem, Incident
from libs.documents.canonical import (
    BEIJING,
    beijing,
    canonical_json,
    iso_utc,
    sha256_hex,
    web_link,
)

FORMAT = "crisiswatch.evidence/1"
PURPOSE_LABELS = {
    EvidencePurpose.PLATFORM_REPORT: "平台举报",
    EvidencePurpose.LEGAL: "法律顾问",
    EvidencePurpose.BOTH: "平台举报与法律顾问",
}

_PAGE = Environment(autoescape=select_autoescape(default=True)).from_string(
    """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
body{font-family:"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;margin:2em;
color:#222;max-width:60em}
h1{font-size:1.4em}table{border-collapse:collapse;width:100%}
td,th{border:1px solid #ccc;padding:.4em;vertical-align:top;text-align:left;font-size:.9em}
.meta{color:#555}.digest{font-family:monospace;word-break:break-all}
</style></head><body>
<h1>证据材料：{{ title }}</h1>
<p class="meta">用途：{{ purpose }} · 事件：{{ incident }} · 整理人：{{ created_by }} ·
生成时间：{{ generated }}</p>
<h2>澄清事实</h2>
{% if facts %}<ol>{% for fact in facts %}<li>{{ fact }}</li>{% endfor %}</ol>
{% else %}<p>（未填写）</p>{% endif %}
<h2>涉事内容（{{ items|length }} 条）</h2>
<table><tr><th>#</th><th>平台 / 作者</th><th>发布时间</th><th>内容</th><th>链接</th>
<th>截图 SHA-256</th><th>备注</th></tr>
{% for item in items %}<tr><td>{{ loop.index }}</td>
<td>{{ item.platform }}<br>{{ item.author or "未知" }}</td><td>{{ item.posted }}</td>
<td>{{ item.text }}</td>
<td>{% if item.url %}<a href="{{ item.url }}">{{ item.url }}</a>{% endif %}</td>
<td class="digest">{{ item.screenshot or "" }}</td><td>{{ item.note or "" }}</td></tr>
{% endfor %}</table>
<p class="meta">JSON 内容摘要（SHA-256）：<span class="digest">{{ digest }}</span></p>
</body></html>
"""
)


@dataclass(frozen=True)
class Exported:
    """The bundle's JSON text, its digest, the page, and a file name for both."""

    document: str
    sha256: str
    html: str
    file_name: str


def export(
    bundle: EvidenceBundle, items: list[EvidenceItem], incident: Incident, now: datetime
) -> Exported:
    """Build the documents of `bundle` with its `items` in order, generated `now`."""
    body: dict[str, Any] = {
        "format": FORMAT,
        "bundle_id": str(bundle.id),
        "title": bundle.title,
        "purpose": bundle.purpose,
        "incident": {"id": str(incident.id), "title": incident.title},
        "created_by": bundle.created_by,
        "created_at": iso_utc(bundle.created_at),
        "generated_at": iso_utc(now),
        "debunk_facts": list(bundle.debunk_facts),
        "items": [
            {
                "mention_id": str(item.mention_id),
                "source": item.source,
                "author": item.author_handle,
                "url": item.url,
                "posted_at": iso_utc(item.posted_at),
                "text": item.text,
                "screenshot_sha256": item.screenshot_sha256,
                "note": item.note,
                "added_by": item.added_by,
                "added_at": iso_utc(item.added_at),
            }
            for item in items
        ],
    }
    document = canonical_json(body)
    digest = sha256_hex(document)
    html = _PAGE.render(
        title=bundle.title,
        purpose=PURPOSE_LABELS[EvidencePurpose(bundle.purpose)],
        incident=incident.title,
        created_by=bundle.created_by,
        generated=beijing(now),
        facts=bundle.debunk_facts,
        items=[
            {
                "platform": SOURCE_LABELS.get(Source(item.source), item.source),
                "author": item.author_handle,
                "posted": beijing(item.posted_at),
                "text": item.text,
                "url": web_link(item.url),
                "screenshot": item.screenshot_sha256,
                "note": item.note,
            }
            for item in items
        ],
        digest=digest,
    )
    stamp = bundle.created_at.astimezone(BEIJING).strftime("%Y%m%d")
    return Exported(document, digest, html, f"evidence-{stamp}-{str(bundle.id)[-8:]}")
