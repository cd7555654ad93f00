"""The trained sentiment model: clear cases, cues, probabilities, determinism and metrics."""

import json
from pathlib import Path

import pytest

from libs.contracts.enums import Sentiment
from services.analysis.sentiment import corpus
from services.analysis.sentiment.cues import vocabulary
from services.analysis.sentiment.evaluate import Cut, evaluate, tokenizer
from services.analysis.sentiment.model import SentimentModel, SentimentResult, default_path
from services.analysis.sentiment.train import dumps, train

NEG, NEU, POS = Sentiment.NEGATIVE, Sentiment.NEUTRAL, Sentiment.POSITIVE

# The lexicon-only classifier this model replaced scored accuracy 0.55 / macro-F1 0.54 on
# the held-out split and 0.74 / 0.74 on the check set (docs/sentiment.md). The review lines
# are noisy (duplicates with both labels, mixed verdicts), so about 0.86 / 0.89 is what
# the trained model reaches there; these floors fail on any regression towards the
# lexicon baseline while leaving room for retraining noise.
HELD_OUT_FLOOR = {"accuracy": 0.82, "macro_f1": 0.86}
CHECK_FLOOR = {"accuracy": 0.85, "macro_f1": 0.85}


@pytest.fixture(scope="module")
def model() -> SentimentModel:
    return SentimentModel.load()


@pytest.fixture(scope="module")
def cut() -> Cut:
    return tokenizer(vocabulary())


def _classify(
    model: SentimentModel, cut: Cut, text: str, emoji: tuple[str, ...] = ()
) -> SentimentResult:
    return model.classify(cut(text), text, emoji)


def test_the_committed_model_loads_with_weights_for_every_class(model: SentimentModel) -> None:
    data = json.loads(default_path().read_text("utf-8"))
    assert data["classes"] == ["positive", "neutral", "negative"]
    assert len(data["features"]) > 10_000
    assert model.weight("lex+") is not None
    assert {"满意", "非常满意", "呵呵", "一点都不"} <= model.vocabulary()


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("物流很快，包装也很精致，非常满意", POS),
        ("客服态度特别好，问题当天就解决了，点赞", POS),
        ("买了三次了，质量一直很稳定，推荐给大家", POS),
        ("用了两天就坏了，客服也不理人，太失望了", NEG),
        ("退款拖了一个月还不给退，已经投诉到12315", NEG),
        ("吃完上吐下泻，这家店太黑心了", NEG),
        ("请问这款手机什么时候发售？", NEU),
        ("银行发布公告，下月起调整部分存款利率", NEU),
        ("咨询一下，会员积分怎么兑换", NEU),
    ],
)
def test_clear_cases(model: SentimentModel, cut: Cut, text: str, label: Sentiment) -> None:
    result = _classify(model, cut, text)
    assert result.label is label, result
    assert result.probability > 0.5


def test_negation_flips_praise_into_complaint(model: SentimentModel, cut: Cut) -> None:
    assert _classify(model, cut, "对这次服务满意").label is POS
    assert _classify(model, cut, "对这次服务不满意").label is NEG
    assert _classify(model, cut, "推荐").score > 0 > _classify(model, cut, "不推荐").score


def test_degree_words_strengthen(model: SentimentModel, cut: Cut) -> None:
    plain, strong = _classify(model, cut, "满意"), _classify(model, cut, "非常满意")
    assert strong.probabilities["positive"] > plain.probabilities["positive"]
    plain = _classify(model, cut, "这次的体验让人失望")
    strong = _classify(model, cut, "这次的体验让人非常失望")
    weak = _classify(model, cut, "这次的体验让人有点失望")
    assert strong.score < plain.score < weak.score < 0


def test_sarcasm_turns_praise_negative(model: SentimentModel, cut: Cut) -> None:
    assert _classify(model, cut, "这服务真是太好了").label is POS
    sarcastic = _classify(model, cut, "呵呵，这服务真是太“好”了")
    assert sarcastic.label is NEG
    assert "sarcasm marker" in sarcastic.evidence


def test_emoji_pull_the_verdict(model: SentimentModel, cut: Cut) -> None:
    text = "收到货了"
    bare = _classify(model, cut, text)
    angry = _classify(model, cut, text, ("怒", "😡"))
    pleased = _classify(model, cut, text, ("赞",))
    assert angry.score < bare.score < pleased.score
    assert angry.label is NEG
    assert _classify(model, cut, "", ("怒",)).label is NEG


def test_probabilities_are_a_distribution(model: SentimentModel, cut: Cut) -> None:
    for text in ("非常满意", "不满意", "请问几点开门", "一般般吧", "！！！"):
        result = _classify(model, cut, text)
        assert sum(result.probabilities.values()) == pytest.approx(1.0)
        assert result.probability == max(result.probabilities.values())
        assert result.probabilities[result.label.value] == result.probability
        assert -1.0 <= result.score <= 1.0


def test_empty_text_without_emoji_is_neutral(model: SentimentModel) -> None:
    result = model.classify([], "   ")
    assert result.label is NEU
    assert result.score == 0.0
    assert result.evidence == ()


def test_evidence_names_the_words_that_decided(model: SentimentModel, cut: Cut) -> None:
    result = _classify(model, cut, "质量很差，非常失望")
    assert 0 < len(result.evidence) <= 5
    assert {"失望", "很差"} <= set(result.evidence)


def _subset() -> list[corpus.Example]:
    every = corpus.corpus()
    by_label: dict[Sentiment, list[corpus.Example]] = {}
    for example in every:
        by_label.setdefault(example.label, []).append(example)
    return [e for label in (POS, NEU, NEG) for e in by_label[label][:150]]


def test_training_is_deterministic(cut: Cut, tmp_path: Path) -> None:
    examples = _subset()
    first = dumps(train(examples, cut, log=False))
    second = dumps(train(examples, cut, log=False))
    assert first == second
    other = dumps(train(examples[1:], cut, log=False))
    assert other != first
    path = tmp_path / "model.json"
    path.write_text(first, encoding="utf-8")
    small = SentimentModel.load(path)
    assert small.classify(cut("非常满意"), "非常满意").probabilities.keys() == {
        "positive",
        "neutral",
        "negative",
    }


def test_held_out_split_is_stratified_and_fixed() -> None:
    examples = corpus.corpus()
    train_side, held_out = corpus.split(examples)
    _, again_held = corpus.split(list(reversed(examples)))
    assert {e.text for e in held_out} == {e.text for e in again_held}
    assert not {e.text for e in train_side} & {e.text for e in held_out}
    for label in (POS, NEU, NEG):
        total = sum(e.label is label for e in examples)
        held = sum(e.label is label for e in held_out)
        assert held == round(total * corpus.HELD_OUT_SHARE)


def test_check_set_never_overlaps_training_data() -> None:
    assert not {e.text for e in corpus.check_set()} & {e.text for e in corpus.corpus()}
    labels = [e.label for e in corpus.check_set()]
    assert {labels.count(label) for label in (POS, NEU, NEG)} == {50}


def test_committed_model_held_out_metrics(model: SentimentModel, cut: Cut) -> None:
    _, held_out = corpus.split(corpus.corpus())
    figures = evaluate(model, held_out, cut)
    assert figures.accuracy >= HELD_OUT_FLOOR["accuracy"], figures.report("held-out")
    assert figures.macro_f1 >= HELD_OUT_FLOOR["macro_f1"], figures.report("held-out")


def test_committed_model_out_of_domain_metrics(model: SentimentModel, cut: Cut) -> None:
    figures = evaluate(model, corpus.check_set(), cut)
    assert figures.accuracy >= CHECK_FLOOR["accuracy"], figures.report("check set")
    assert figures.macro_f1 >= CHECK_FLOOR["macro_f1"], figures.report("check set")


def test_training_without_a_class_says_which(cut: Cut) -> None:
    examples = [e for e in _subset() if e.label is not NEG]
    with pytest.raises(ValueError, match="negative"):
        train(examples, cut, log=False)
