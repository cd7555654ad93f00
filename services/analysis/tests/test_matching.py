"""Watchlist keyword matching and the user dictionary that keeps brand names whole."""

import uuid

from services.analysis.analyzer import Analyzer
from services.analysis.matching import Matcher, WatchlistRule

MILK = WatchlistRule(id=uuid.uuid4(), keywords=("飞鹤", "星飞帆", "Feihe"))
RECALL = WatchlistRule(id=uuid.uuid4(), keywords=("召回", "星飞帆"))


def test_a_keyword_anywhere_in_the_text_matches_its_watchlist() -> None:
    match = Matcher([MILK, RECALL]).match("听说飞鹤的奶粉出事了")
    assert match.watchlist_ids == [MILK.id]
    assert match.keywords == ["飞鹤"]


def test_matching_ignores_case() -> None:
    match = Matcher([MILK]).match("FEIHE milk powder recall")
    assert match.watchlist_ids == [MILK.id]
    assert match.keywords == ["Feihe"]


def test_a_shared_keyword_matches_every_watchlist_that_has_it() -> None:
    match = Matcher([MILK, RECALL]).match("星飞帆被召回了")
    assert set(match.watchlist_ids) == {MILK.id, RECALL.id}
    assert set(match.keywords) == {"星飞帆", "召回"}


def test_text_without_keywords_matches_nothing() -> None:
    match = Matcher([MILK, RECALL]).match("今天天气不错")
    assert match.watchlist_ids == []
    assert match.keywords == []
    assert Matcher([]).match("飞鹤").watchlist_ids == []


def test_watchlist_keywords_are_never_split_by_segmentation(analyzer: Analyzer) -> None:
    text = "澳优能立多奶粉被曝光，鹤飞乳业回应"
    assert "澳优能立多" not in analyzer.segmenter.cut(text)
    rule = WatchlistRule(id=uuid.uuid4(), keywords=("澳优能立多", "鹤飞乳业"))
    verdict = analyzer.analyze(uuid.uuid4(), text, [rule])
    assert {"澳优能立多", "鹤飞乳业"} <= set(verdict.tokens)
    assert verdict.match.watchlist_ids == [rule.id]
    assert {"澳优能立多", "鹤飞乳业"} <= analyzer.segmenter.user_words
    assert analyzer.segmenter.add_words(["澳优能立多"]) == 0
