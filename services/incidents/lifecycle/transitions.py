"""Where an incident is in its life, and the only moves between states a response team makes.

Allowed transitions (anything else is refused, naming the current state):

    detected      → acknowledged, merged*, false_alarm*
    acknowledged  → assessing, responding, merged*, false_alarm*
    assessing     → responding, merged*, false_alarm*
    responding    → recovering, merged*, false_alarm*
    recovering    → resolved, responding* (relapse), merged*, false_alarm*
    resolved      → closed, responding* (reopen)
    closed, merged, false_alarm: final

(* a reason is required.)

Why this table:
- Nothing happens before someone owns the incident: the only way out of `detected`,
  besides dismissing it, is acknowledging it (monitoring started, 30-minute deadline).
- `acknowledged → responding` skips the assessment on purpose: in urgent cases the
  statement goes out first and the details after (先发声明后补充说明, seed 002).
- An incident is resolved only after a recovery watch (`recovering`): the team keeps
  watching volume and sentiment decay before calling it over, because a crisis that is
  answered too early often flares up again.
- `closed` follows `resolved` once the review is done; it is final, as are `merged` and
  `false_alarm`. A flare-up after closing opens a new incident linked to this one as a
  recurrence instead.
- Going back (relapse from `recovering`, reopening from `resolved`), merging and dismissing
  as a false alarm all need a reason, since they change what the team and integrators
  believe happened. A merge names an open incident of the same organization; the merged
  incident's tier, if higher, raises the target's.
"""

from libs.contracts.enums import IncidentStatus

S = IncidentStatus

ALLOWED: dict[IncidentStatus, frozenset[IncidentStatus]] = {
    S.DETECTED: frozenset({S.ACKNOWLEDGED, S.MERGED, S.FALSE_ALARM}),
    S.ACKNOWLEDGED: frozenset({S.ASSESSING, S.RESPONDING, S.MERGED, S.FALSE_ALARM}),
    S.ASSESSING: frozenset({S.RESPONDING, S.MERGED, S.FALSE_ALARM}),
    S.RESPONDING: frozenset({S.RECOVERING, S.MERGED, S.FALSE_ALARM}),
    S.RECOVERING: frozenset({S.RESOLVED, S.RESPONDING, S.MERGED, S.FALSE_ALARM}),
    S.RESOLVED: frozenset({S.CLOSED, S.RESPONDING}),
    S.CLOSED: frozenset(),
    S.MERGED: frozenset(),
    S.FALSE_ALARM: frozenset(),
}

_ORDER = list(IncidentStatus)


def allowed_targets(current: IncidentStatus) -> list[IncidentStatus]:
    """Return where an incident in `current` may move, in lifecycle order."""
    return sorted(ALLOWED[current], key=_ORDER.index)


def needs_reason(current: IncidentStatus, target: IncidentStatus) -> bool:
    """Return whether moving from `current` to `target` must say why."""
    if target in (S.MERGED, S.FALSE_ALARM):
        return True
    return target is S.RESPONDING and current in (S.RECOVERING, S.RESOLVED)


def is_reopening(current: IncidentStatus, target: IncidentStatus) -> bool:
    """Return whether the move takes a resolved incident back into the response."""
    return current is S.RESOLVED and target is S.RESPONDING


def forbidden(current: IncidentStatus, target: IncidentStatus) -> str:
    """Return why `current` cannot move to `target`, naming where it can go instead."""
    allowed = allowed_targets(current)
    if allowed:
        options = f"from {current.value} it can move to {', '.join(s.value for s in allowed)}"
    else:
        options = f"{current.value} is final"
    return f"cannot move an incident that is {current.value} to {target.value}: {options}"
