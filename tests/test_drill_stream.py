"""The drill's posts and the `crisiswatch drill` command, without servers."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from crisiswatch.cli import app
from crisiswatch.drill import score_lines
from crisiswatch.drill_stream import replay, script
from libs.contracts.drills import SCENARIOS
from libs.contracts.enums import DrillScenario
from services.ingest.schemas import MentionIn

START = datetime(2026, 11, 21, 0, 0, tzinfo=UTC)
SCRIPTED = [s for s in DrillScenario if s is not DrillScenario.REPLAY]


@pytest.mark.parametrize("scenario", SCRIPTED)
def test_a_scenario_spans_hours_names_its_drill_and_fits_the_ingest_api(
    scenario: DrillScenario,
) -> None:
    drill_id = str(uuid.uuid4())
    laid_out = script(scenario, drill_id, START)
    assert laid_out.stream_seconds > 4 * 3600
    posts = [*laid_out.history, *(p for _, p in laid_out.live)]
    assert all(p["drill_id"] == drill_id for p in posts)
    assert len({p["external_id"] for p in posts}) == len(posts)
    assert all(p["external_id"].startswith(f"drill-{drill_id}-") for p in posts)
    # Reposts point at posts the drill itself sends, under their new ids.
    sent = {p["external_id"] for p in posts}
    reposts = [p for p in posts if p.get("repost_of")]
    assert all(p["repost_of"] in sent for p in reposts)
    assert all(datetime.fromisoformat(p["posted_at"]) < START for p in laid_out.history)
    offsets = [at for at, _ in laid_out.live]
    assert offsets == sorted(offsets) and offsets[0] >= 0
    brand = SCENARIOS[scenario].keywords
    assert sum(any(k in p["text"] for k in brand) for p in posts) > len(posts) / 2
    for post in posts[:50]:
        assert MentionIn.model_validate(post).drill_id == uuid.UUID(drill_id)


def test_the_same_drill_gives_the_same_posts_and_another_drill_new_ids() -> None:
    one, same = (script(DrillScenario.RUMOUR, "a" * 32, START) for _ in range(2))
    other = script(DrillScenario.RUMOUR, "b" * 32, START)
    assert one == same
    assert {p["external_id"] for _, p in one.live}.isdisjoint(
        p["external_id"] for _, p in other.live
    )


def test_a_replay_keeps_the_shape_with_new_ids() -> None:
    first = START - timedelta(days=30)
    past = [
        {"source": "weibo", "external_id": f"real-{n}", "text": "网传麦旭菜籽油致癌",
         "posted_at": (first + timedelta(minutes=10 * n)).isoformat(), "author": {"handle": "x"},
         "repost_of": {0: None, 1: "real-0", 2: "real-elsewhere"}[n]}
        for n in range(3)
    ]  # fmt: skip
    laid_out = replay(past, "c" * 32)
    assert [at for at, _ in laid_out.live] == [0.0, 600.0, 1200.0]
    played = [p for _, p in laid_out.live]
    assert all(p["external_id"].startswith(f"drill-{'c' * 32}-") for p in played)
    # A repost of a replayed post follows it to its new id; one of a post not replayed stands
    # alone, never pointing back at the real mention.
    assert [p["repost_of"] for p in played] == [None, played[0]["external_id"], None]


def test_the_score_card_prints_each_deadline() -> None:
    drill = {
        "scenarioLabel": "数据泄露",
        "speed": 60.0,
        "scoreCard": {
            "secondsToAcknowledge": 1200.0,
            "incidentsOpened": 1,
            "deadlinesMet": 1,
            "deadlinesMissed": 1,
            "statementsDrafted": 2,
            "statementsThroughReview": 1,
            "participants": ["key-war-room"],
            "deadlines": [
                {"title": "确认事件并启动监测", "allowedSeconds": 1800.0, "outcomeKind": "MET"},
                {"title": "发布首次公开声明", "allowedSeconds": 14400.0, "outcomeKind": "MISSED"},
            ],
        },
    }
    lines = score_lines(drill)
    assert "确认用时 20.0 分钟（流时间）" in lines[1]
    assert lines[-2].startswith("  ✔ 确认事件并启动监测") and lines[-1].startswith(
        "  ✘ 发布首次公开声明"
    )


def test_an_unknown_scenario_is_refused_by_the_command() -> None:
    result = CliRunner().invoke(app, ["drill", "earthquake"])
    assert result.exit_code == 2 and "unknown scenario" in result.output
