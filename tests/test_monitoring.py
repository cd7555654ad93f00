"""The alert rules, the Grafana dashboard and their runbooks agree with the metrics exported.

promtool is not available offline, so the PromQL is parsed here by a grammar of the part of
the language the files use (operators with their precedence, vector matching, aggregations,
function calls, selectors, ranges, subqueries): an expression it cannot parse fails, and so
does a metric, label or label value the processes do not export, a range function given an
instant vector, or `rate()` over a gauge.

The metrics are listed in `METRICS` below, the one place this test knows them from: they
are the names the processes export (`libs/metrics`). Once `docs/operations.md` carries the
metric table, `test_every_metric_listed_here_is_documented` checks the two agree.
"""

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from lark import Lark, Token, Tree

from services.analysis.pipeline import STAGES as PIPELINE_STAGES

ROOT = Path(__file__).resolve().parent.parent
MONITORING = ROOT / "infra" / "monitoring"
ALERTS = MONITORING / "alerts.yml"
DASHBOARD = MONITORING / "grafana-dashboard.json"
PROMETHEUS = MONITORING / "prometheus.yml"
RUNBOOKS = ROOT / "docs" / "alerts.md"
OPERATIONS = ROOT / "docs" / "operations.md"

PROCESSES = ("ingest", "gateway", "analysis", "incidents", "notify")
QUEUES = ("crisiswatch:analysis", "crisiswatch:incidents", "crisiswatch:events")
TIERS = ("none", "blue", "yellow", "orange", "red")
# The analysis pipeline's stages label its stage timing (`pipeline.run`).
STAGES = tuple(stage.__name__ for stage in PIPELINE_STAGES)


@dataclass(frozen=True)
class Metric:
    """One exported metric: its type, its labels, and the values a label may take (if bounded)."""

    kind: str  # counter, gauge or histogram
    labels: frozenset[str] = frozenset()
    values: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _metric(kind: str, **values: tuple[str, ...] | None) -> Metric:
    return Metric(
        kind, frozenset(values), {label: v for label, v in values.items() if v is not None}
    )


# Counters by their exposed name (`_total`); histograms by their base name.
METRICS: dict[str, Metric] = {
    "crisiswatch_ingest_requests_total": _metric("counter", route=None, status=None),
    "crisiswatch_ingest_items_total": _metric(
        "counter", outcome=("accepted", "duplicate", "rejected")
    ),
    "crisiswatch_ingest_batch_seconds": _metric("histogram"),
    "crisiswatch_analysis_batch_size": _metric("histogram"),
    "crisiswatch_analysis_batch_seconds": _metric("histogram"),
    "crisiswatch_analysis_stage_seconds": _metric("histogram", stage=STAGES),
    "crisiswatch_analysis_lag_seconds": _metric("histogram"),
    "crisiswatch_risk_signals_total": _metric("counter", tier=TIERS),
    "crisiswatch_incidents_open": _metric("gauge", tier=TIERS),
    "crisiswatch_tasks_overdue": _metric("gauge"),
    "crisiswatch_commands_total": _metric("counter", command=None, outcome=None),
    "crisiswatch_webhook_deliveries_total": _metric(
        "counter", outcome=("succeeded", "retrying", "failed", "gone")
    ),
    "crisiswatch_webhook_deliveries_pending": _metric("gauge"),
    "crisiswatch_graphql_operations_total": _metric(
        "counter",
        operation=None,
        type=("query", "mutation", "subscription"),
        outcome=("ok", "invalid", "error"),
    ),
    "crisiswatch_graphql_operation_seconds": _metric(
        "histogram", type=("query", "mutation", "subscription")
    ),
    "crisiswatch_graphql_subscriptions_active": _metric("gauge"),
    "crisiswatch_jobs_total": _metric(
        "counter",
        queue=QUEUES,
        message=None,
        outcome=("done", "retried", "dead_letter", "duplicate"),
    ),
    "crisiswatch_job_seconds": _metric("histogram", queue=QUEUES, message=None),
    "crisiswatch_queue_depth": _metric("gauge", queue=QUEUES),
    "crisiswatch_queue_oldest_job_age_seconds": _metric("gauge", queue=QUEUES),
    "crisiswatch_outbox_backlog": _metric("gauge"),
    "crisiswatch_dead_letters": _metric("gauge"),
    "crisiswatch_mention_failures": _metric("gauge", state=("retrying", "given_up")),
    "crisiswatch_unapplied_signals": _metric("gauge"),
    "crisiswatch_ledger_rows": _metric("gauge", table=None),
    "crisiswatch_ledger_bytes": _metric("gauge", table=None),
    # Prometheus' own: 1 when a target answered its last scrape.
    "up": _metric("gauge"),
}
# Labels Prometheus attaches to every scraped series (prometheus.yml's relabelling).
TARGET_LABELS = frozenset({"job", "instance", "namespace", "pod"})
JOBS = tuple(f"crisiswatch-{process}" for process in PROCESSES)

AGGREGATIONS = {"sum", "min", "max", "avg", "count", "group", "stddev", "stdvar"}
FUNCTIONS = {
    "abs",
    "absent",
    "absent_over_time",
    "avg_over_time",
    "changes",
    "clamp_min",
    "clamp_max",
    "delta",
    "deriv",
    "histogram_quantile",
    "increase",
    "irate",
    "max_over_time",
    "min_over_time",
    "predict_linear",
    "rate",
    "resets",
    "sum_over_time",
    "vector",
}
RANGE_FUNCTIONS = {
    "absent_over_time",
    "avg_over_time",
    "changes",
    "delta",
    "deriv",
    "increase",
    "irate",
    "max_over_time",
    "min_over_time",
    "predict_linear",
    "rate",
    "resets",
    "sum_over_time",
}
COUNTER_FUNCTIONS = {"rate", "irate", "increase", "resets"}
GAUGE_FUNCTIONS = {"delta", "deriv", "predict_linear"}

GRAMMAR = rf"""
?start: expr
?expr: expr OR matching? expr1 -> binary
     | expr1
?expr1: expr1 AND matching? expr2 -> binary
      | expr2
?expr2: expr2 CMP BOOL? matching? expr3 -> binary
      | expr3
?expr3: expr3 ADD matching? expr4 -> binary
      | expr4
?expr4: expr4 MUL matching? expr5 -> binary
      | expr5
?expr5: ADD expr5 -> negative
      | expr6 POW matching? expr5 -> binary
      | expr6
?expr6: atom
      | atom "[" DURATION ":" DURATION? "]" -> subquery
?atom: NUMBER -> number
     | STRING -> string
     | "(" expr ")"
     | aggregation
     | call
     | selector
aggregation: AGG grouping "(" expr ("," expr)* ")"
           | AGG "(" expr ("," expr)* ")" grouping?
grouping: GROUPING "(" [LABEL ("," LABEL)*] ")"
call: FUNC "(" [expr ("," expr)*] ")"
selector: METRIC matchers? range?
        | matchers range?
range: "[" DURATION "]"
matchers: "{{" [matcher ("," matcher)* ","?] "}}"
matcher: LABEL MATCH STRING
matching: ON "(" [LABEL ("," LABEL)*] ")" (SIDE ("(" [LABEL ("," LABEL)*] ")")?)?

OR: /or\b/
AND: /(and|unless)\b/
BOOL: /bool\b/
ON: /(on|ignoring)\b/
SIDE: /(group_left|group_right)\b/
GROUPING: /(by|without)\b/
AGG.2: /({"|".join(sorted(AGGREGATIONS))})\b/
FUNC.2: /({"|".join(sorted(FUNCTIONS))})\b/
CMP: "==" | "!=" | ">=" | "<=" | ">" | "<"
ADD: "+" | "-"
MUL: "*" | "/" | "%"
POW: "^"
MATCH: "=~" | "!~" | "=" | "!="
DURATION: /([0-9]+(ms|s|m|h|d|w|y))+/
NUMBER: /[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/
STRING: /"([^"\\]|\\.)*"/ | /'([^'\\]|\\.)*'/
METRIC: /[a-zA-Z_:][a-zA-Z0-9_:]*/
LABEL: /[a-zA-Z_][a-zA-Z0-9_]*/

%import common.WS
%ignore WS
"""


@cache
def _parser() -> Lark:
    return Lark(GRAMMAR, start="start", parser="earley", ambiguity="resolve")


def parse(expr: str) -> Tree[Token]:
    """Parse a PromQL expression; raise if the grammar does not accept it."""
    return _parser().parse(expr)


def _series(name: str) -> tuple[str, Metric, str]:
    """Return the listed metric a series name belongs to and the series' suffix."""
    if name in METRICS:
        return name, METRICS[name], ""
    for suffix in ("_bucket", "_sum", "_count"):
        base = name.removesuffix(suffix)
        if base != name and base in METRICS and METRICS[base].kind == "histogram":
            return base, METRICS[base], suffix
    raise AssertionError(f"{name} is not a metric crisiswatch exports")


def _selector_parts(node: Tree[Token]) -> tuple[str | None, list[tuple[str, str, str]], bool]:
    name: str | None = None
    matchers: list[tuple[str, str, str]] = []
    ranged = False
    for child in node.children:
        if isinstance(child, Token) and child.type == "METRIC":
            name = str(child)
        elif isinstance(child, Tree) and child.data == "matchers":
            for matcher in child.children:
                if isinstance(matcher, Tree):
                    label, op, value = (str(part) for part in matcher.children)
                    matchers.append((label, op, value[1:-1]))
        elif isinstance(child, Tree) and child.data == "range":
            ranged = True
    return name, matchers, ranged


def _selectors(node: Tree[Token] | Token) -> list[Tree[Token]]:
    if isinstance(node, Token):
        return []
    return list(node.find_data("selector"))


def _labels_of(node: Tree[Token]) -> set[str]:
    """The labels the series under `node` may carry."""
    labels = set(TARGET_LABELS)
    for selector in _selectors(node):
        name, _, _ = _selector_parts(selector)
        if name is not None:
            _, metric, suffix = _series(name)
            labels |= metric.labels | ({"le"} if suffix == "_bucket" else set())
    return labels


def _is_range(node: Tree[Token] | Token) -> bool:
    if isinstance(node, Tree) and node.data == "subquery":
        return True
    return isinstance(node, Tree) and node.data == "selector" and _selector_parts(node)[2]


def check_expression(expr: str) -> set[str]:
    """Parse `expr` and check it against `METRICS`; return the metrics it reads."""
    tree = parse(expr)
    used: set[str] = set()
    for selector in _selectors(tree):
        name, matchers, _ = _selector_parts(selector)
        assert name is not None, f"a selector without a metric name in {expr!r}"
        base, metric, suffix = _series(name)
        used.add(base)
        allowed = metric.labels | TARGET_LABELS | ({"le"} if suffix == "_bucket" else set())
        for label, op, value in matchers:
            assert label in allowed, f"{name} has no label {label!r} ({expr!r})"
            known = metric.values.get(label)
            if known is None or op not in ("=", "=~"):
                continue
            words = value.split("|") if op == "=~" else [value]
            for word in words:
                assert word in known, f"{name}{{{label}}} never takes {word!r} ({expr!r})"
            if label == "job" and op == "=":
                assert value in JOBS, f"no scrape job {value!r}"
    for call in tree.find_data("call"):
        function = str(call.children[0])
        args = [arg for arg in call.children[1:] if isinstance(arg, Tree)]
        if function in RANGE_FUNCTIONS:
            assert args and _is_range(args[0]), f"{function}() needs a range vector ({expr!r})"
            for selector in _selectors(args[0]):
                name, _, _ = _selector_parts(selector)
                _, metric, suffix = _series(name or "")
                kind = "counter" if metric.kind == "histogram" and suffix else metric.kind
                if function in COUNTER_FUNCTIONS:
                    assert kind == "counter", f"{function}() over the gauge {name} ({expr!r})"
                if function in GAUGE_FUNCTIONS and args[0].data == "selector":
                    assert kind == "gauge", f"{function}() over the counter {name} ({expr!r})"
        if function == "histogram_quantile":
            assert len(args) == 2, f"histogram_quantile takes (φ, buckets) ({expr!r})"
            buckets = [_selector_parts(s)[0] or "" for s in _selectors(args[1])]
            assert buckets and all(b.endswith("_bucket") for b in buckets), expr
            groupings = list(args[1].find_data("grouping"))
            assert groupings, f"histogram_quantile over buckets not aggregated by le ({expr!r})"
            for grouping in groupings:
                kept = [str(t) for t in grouping.children[1:] if isinstance(t, Token)]
                assert "le" in kept, f"the buckets must be summed by le ({expr!r})"
    for aggregation in tree.find_data("aggregation"):
        for child in aggregation.children:
            if isinstance(child, Tree) and child.data == "grouping":
                available = _labels_of(aggregation)
                for kept_label in child.children[1:]:
                    if kept_label is not None:
                        assert str(kept_label) in available, (
                            f"grouping by {kept_label!r}, which no series has ({expr!r})"
                        )
    return used


def _rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    anchors = set()
    for line in markdown.splitlines():
        heading = re.match(r"#{1,6}\s+(.*)", line)
        if heading:
            text = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower())
            anchors.add(text.replace(" ", "-"))
    return anchors


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    panels: list[dict[str, Any]] = []
    for panel in dashboard["panels"]:
        panels.append(panel)
        panels.extend(panel.get("panels", []))
    return panels


# The parser itself: it must refuse what promtool would.


@pytest.mark.parametrize(
    "expr",
    [
        'sum(rate(crisiswatch_jobs_total{outcome="retried"}[5m])',  # unbalanced
        "max by (queue crisiswatch_queue_depth) > 1",
        "crisiswatch_dead_letters >",
        'crisiswatch_dead_letters{state="x"',
        "rate(crisiswatch_jobs_total[5 minutes])",
        "sum(crisiswatch_dead_letters) by",
        "frobnicate(crisiswatch_dead_letters)",
    ],
)
def test_malformed_promql_is_refused(expr: str) -> None:
    with pytest.raises(Exception):  # noqa: B017 - lark's errors, or an assertion
        check_expression(expr)


@pytest.mark.parametrize(
    ("expr", "fault"),
    [
        ("max(crisiswatch_queue_depth_seconds) > 1", "is not a metric"),
        ('crisiswatch_jobs_total{outcome="dead"}', "never takes"),
        ('crisiswatch_dead_letters{queue="crisiswatch:analysis"}', "has no label"),
        ("rate(crisiswatch_queue_depth[5m])", "over the gauge"),
        ("rate(crisiswatch_jobs_total)", "needs a range vector"),
        (
            "histogram_quantile(0.95, rate(crisiswatch_analysis_lag_seconds_bucket[5m]))",
            "not aggregated by le",
        ),
        ("sum by (tier) (rate(crisiswatch_jobs_total[5m]))", "no series has"),
    ],
)
def test_wrong_metrics_and_functions_are_refused(expr: str, fault: str) -> None:
    with pytest.raises(AssertionError, match=fault):
        check_expression(expr)


# The rules.


def test_every_rule_has_what_an_operator_needs() -> None:
    rules = _rules()
    assert rules
    names = [rule["alert"] for rule in rules]
    assert len(names) == len(set(names)), "alert names repeat"
    anchors = _anchors(RUNBOOKS.read_text(encoding="utf-8"))
    for rule in rules:
        name = rule["alert"]
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, name
        assert rule["expr"].strip(), name
        assert re.fullmatch(r"[0-9]+[smh]", rule["for"]), f"{name}: for {rule['for']!r}"
        assert rule["labels"]["severity"] in ("critical", "warning"), name
        annotations = rule["annotations"]
        assert annotations["summary"].strip() and annotations["description"].strip(), name
        runbook = annotations["runbook_url"]
        assert runbook.startswith("docs/alerts.md#"), f"{name}: runbook {runbook!r}"
        anchor = runbook.split("#", 1)[1]
        assert anchor == name.lower(), f"{name}: its runbook is #{name.lower()}"
        assert anchor in anchors, f"{name}: docs/alerts.md has no section #{anchor}"


def test_every_runbook_section_belongs_to_an_alert() -> None:
    text = RUNBOOKS.read_text(encoding="utf-8")
    sections = set(re.findall(r"^## (Crisiswatch\w+)$", text, flags=re.MULTILINE))
    assert sections == {rule["alert"] for rule in _rules()}


def test_every_rule_expression_parses_and_reads_exported_metrics() -> None:
    read: set[str] = set()
    for rule in _rules():
        read |= check_expression(rule["expr"])
    # What the brief of the alerts asks to watch is watched.
    for metric in (
        "up",
        "crisiswatch_queue_oldest_job_age_seconds",
        "crisiswatch_analysis_lag_seconds",
        "crisiswatch_unapplied_signals",
        "crisiswatch_tasks_overdue",
        "crisiswatch_webhook_deliveries_total",
        "crisiswatch_ingest_requests_total",
        "crisiswatch_graphql_operations_total",
        "crisiswatch_dead_letters",
        "crisiswatch_mention_failures",
        "crisiswatch_outbox_backlog",
    ):
        assert metric in read, f"no alert reads {metric}"


def test_cluster_gauges_are_read_through_max_never_summed() -> None:
    """Every worker reports the same cluster gauge; a sum would count it once per replica."""
    cluster = (
        "crisiswatch_queue_depth",
        "crisiswatch_queue_oldest_job_age_seconds",
        "crisiswatch_outbox_backlog",
        "crisiswatch_dead_letters",
        "crisiswatch_mention_failures",
        "crisiswatch_unapplied_signals",
        "crisiswatch_tasks_overdue",
        "crisiswatch_incidents_open",
        "crisiswatch_webhook_deliveries_pending",
        "crisiswatch_ledger_rows",
        "crisiswatch_ledger_bytes",
    )
    expressions = [rule["expr"] for rule in _rules()] + [
        target["expr"] for panel in _panels(_dashboard()) for target in panel.get("targets", [])
    ]
    for expr in expressions:
        for aggregation in parse(expr).find_data("aggregation"):
            if str(aggregation.children[0]) == "max":
                continue
            for selector in _selectors(aggregation):
                name = _selector_parts(selector)[0]
                assert name not in cluster, f"{name} aggregated by other than max: {expr!r}"


def test_the_scrape_jobs_are_those_the_rules_name() -> None:
    config = yaml.safe_load(PROMETHEUS.read_text(encoding="utf-8"))
    assert config["rule_files"] == ["alerts.yml"]
    (scrape,) = config["scrape_configs"]
    keep = scrape["relabel_configs"][0]
    assert keep["action"] == "keep"
    assert keep["source_labels"] == ["__meta_kubernetes_pod_label_app_kubernetes_io_name"]
    kept = re.fullmatch(r"crisiswatch-\((.*)\)", keep["regex"])
    assert kept is not None and set(kept[1].split("|")) == set(PROCESSES)
    assert any(
        step.get("target_label") == "job"
        and step["source_labels"] == ["__meta_kubernetes_pod_label_app_kubernetes_io_name"]
        for step in scrape["relabel_configs"]
    )
    missing = next(rule for rule in _rules() if rule["alert"] == "CrisiswatchProcessMissing")
    assert set(re.findall(r'job="([^"]+)"', missing["expr"])) == set(JOBS)


def test_the_pods_carry_the_labels_and_annotations_the_scrape_relies_on() -> None:
    for process in PROCESSES:
        documents = yaml.safe_load_all(
            (ROOT / "infra" / "k8s" / "base" / f"{process}.yaml").read_text(encoding="utf-8")
        )
        deployment = next(d for d in documents if d and d["kind"] == "Deployment")
        pod = deployment["spec"]["template"]["metadata"]
        assert pod["labels"]["app.kubernetes.io/name"] == f"crisiswatch-{process}"
        assert pod["annotations"]["prometheus.io/scrape"] == "true"
        assert pod["annotations"]["prometheus.io/path"] == "/metrics"


# The dashboard.


def _dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return loaded


def test_the_dashboard_reads_its_prometheus_from_one_variable() -> None:
    dashboard = _dashboard()
    (variable,) = dashboard["templating"]["list"]
    assert (variable["name"], variable["type"], variable["query"]) == (
        "datasource",
        "datasource",
        "prometheus",
    )
    placeholder = {"type": "prometheus", "uid": "${datasource}"}
    for panel in _panels(dashboard):
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == placeholder, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == placeholder, panel["title"]
    assert dashboard["uid"] and dashboard["schemaVersion"] >= 36


def test_the_dashboard_panels_are_laid_out_and_unique() -> None:
    panels = _panels(_dashboard())
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids))
    taken: set[tuple[int, int]] = set()
    for panel in panels:
        box = panel["gridPos"]
        assert box["x"] + box["w"] <= 24, panel["title"]
        cells = {
            (x, y)
            for x in range(box["x"], box["x"] + box["w"])
            for y in range(box["y"], box["y"] + box["h"])
        }
        assert not cells & taken, f"{panel['title']} overlaps another panel"
        taken |= cells
        refs = [target["refId"] for target in panel.get("targets", [])]
        assert len(refs) == len(set(refs)), panel["title"]


def test_the_dashboard_shows_the_flow() -> None:
    read: dict[str, set[str]] = {}
    for panel in _panels(_dashboard()):
        for target in panel.get("targets", []):
            read.setdefault(panel["title"], set()).update(check_expression(target["expr"]))
    everything = set().union(*read.values())
    expected = {
        "crisiswatch_ingest_items_total",
        "crisiswatch_analysis_lag_seconds",
        "crisiswatch_queue_depth",
        "crisiswatch_queue_oldest_job_age_seconds",
        "crisiswatch_risk_signals_total",
        "crisiswatch_incidents_open",
        "crisiswatch_tasks_overdue",
        "crisiswatch_webhook_deliveries_total",
        "crisiswatch_graphql_operation_seconds",
        "crisiswatch_graphql_operations_total",
        "crisiswatch_ledger_rows",
        "crisiswatch_ledger_bytes",
    }
    assert expected <= everything, f"no panel shows {sorted(expected - everything)}"
    unused = set(METRICS) - everything
    assert not unused, f"metrics on no panel: {sorted(unused)}"


def test_every_metric_listed_here_is_documented() -> None:
    if not OPERATIONS.exists() or "crisiswatch_" not in OPERATIONS.read_text(encoding="utf-8"):
        pytest.skip("docs/operations.md has no metric table yet")
    documented = OPERATIONS.read_text(encoding="utf-8")
    for name in METRICS:
        if name != "up":
            assert name.removesuffix("_total") in documented, f"{name} is not in operations.md"
