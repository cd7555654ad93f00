"""The gateway's mirrors of service vocabularies hold every value the services store.

The gateway may not import a service, so the closed sets it exposes as enums (timeline
kinds, complaint channels, drill deadline outcomes) are copied; these tests read the
services' own code and fail when a copy misses a value, before a client reads OTHER (a
timeline kind) or an error (a channel, an outcome) for it.
"""

import ast
import importlib
import inspect
from enum import StrEnum
from pathlib import Path
from types import ModuleType
from typing import Any

from gateway.drills.types import DrillDeadlineOutcome
from gateway.incidents.types import TimelineEventKind
from gateway.mentions.types import ComplaintChannel
from services.analysis.drills import scorecard
from services.ingest.complaints.schemas import ComplaintChannel as IngestComplaintChannel

ROOT = Path(__file__).resolve().parent.parent
INCIDENTS = ROOT / "services" / "incidents"


def _modules() -> list[tuple[ModuleType, ast.Module]]:
    found = []
    for path in sorted(INCIDENTS.rglob("*.py")):
        if "tests" in path.relative_to(INCIDENTS).parts:
            continue
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        found.append((importlib.import_module(name), ast.parse(path.read_text(encoding="utf-8"))))
    return found


def _kind_argument(call: ast.Call) -> ast.expr | None:
    """The kind a call writes on a timeline: `timeline.record(session, incident, kind, …)`
    or `TimelineEvent(kind=…)`; None for any other call."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name == "record" and isinstance(func, ast.Name | ast.Attribute):
        receiver = func.value if isinstance(func, ast.Attribute) else None
        if receiver is None or (isinstance(receiver, ast.Name) and receiver.id == "timeline"):
            if len(call.args) > 2:
                return call.args[2]
            return next((k.value for k in call.keywords if k.arg == "kind"), None)
    if name == "TimelineEvent":
        return next((k.value for k in call.keywords if k.arg == "kind"), None)
    return None


def _enclosing_annotation(tree: ast.Module, node: ast.expr, module: ModuleType) -> Any:
    """The annotation of the parameter `node` names, in the function that holds it."""
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if not any(inner is node for inner in ast.walk(function)):
            continue
        for argument in (*function.args.args, *function.args.kwonlyargs):
            if isinstance(node, ast.Name) and argument.arg == node.id:
                if argument.annotation is None:
                    return None
                return eval(ast.unparse(argument.annotation), vars(module))
    return None


def recorded_kinds() -> set[str]:
    """Every kind the incidents service writes on a timeline, read from its calls.

    A kind passed through a parameter counts every member of that parameter's StrEnum;
    `timeline.record` itself, which forwards whatever it is given, adds none.
    """
    kinds: set[str] = set()
    for module, tree in _modules():
        for call in ast.walk(tree):
            if not isinstance(call, ast.Call):
                continue
            argument = _kind_argument(call)
            if argument is None:
                continue
            if isinstance(argument, ast.Call):  # `str(kind)` inside `record` itself
                argument = argument.args[0]
            try:
                kinds.add(str(eval(ast.unparse(argument), vars(module))))
                continue
            except NameError:
                annotation = _enclosing_annotation(tree, argument, module)
            if inspect.isclass(annotation) and issubclass(annotation, StrEnum):
                kinds |= {member.value for member in annotation}
            else:
                assert annotation is str, f"{module.__name__}: cannot tell the kind {argument}"
    return kinds


def test_the_gateway_knows_every_timeline_kind_the_incidents_service_records() -> None:
    recorded = recorded_kinds()
    # The scan must find the kinds of every part, not just the lifecycle's.
    assert {"opened", "statement_published", "contact_revealed", "task_overdue"} <= recorded
    known = {kind.value for kind in TimelineEventKind} - {TimelineEventKind.OTHER.value}
    assert recorded - known == set(), "add these to TimelineEventKind"
    assert known - recorded == set(), "no service records these any more"


def test_the_gateway_complaint_channels_are_ingests() -> None:
    assert {(c.name, c.value) for c in ComplaintChannel} == {
        (c.name, c.value) for c in IngestComplaintChannel
    }


def test_the_gateway_drill_deadline_outcomes_are_the_score_cards() -> None:
    assert {o.value for o in DrillDeadlineOutcome} == {
        scorecard.MET,
        scorecard.MISSED,
        scorecard.OPEN,
    }
