"""The team each tier's default playbook calls for (seed 002 §三(一)2), shared by the
incidents service, which applies playbooks, and the gateway, which shows an incident's
required roles when its organization has no playbook of its own for the tier.

- blue: a duty monitor;
- yellow: the 3-person group (monitor, analyst, spokesperson);
- orange: the 5-person task force (adds a commander and customer service);
- red: the cross-department committee (two monitors for the 24-hour watch, and legal).

A rumour's default playbooks keep their tier's team.
"""

from libs.contracts.enums import TeamRole, Tier

DEFAULT_TEAMS: dict[Tier, tuple[tuple[TeamRole, int], ...]] = {
    Tier.BLUE: ((TeamRole.MONITOR, 1),),
    Tier.YELLOW: ((TeamRole.MONITOR, 1), (TeamRole.ANALYST, 1), (TeamRole.SPOKESPERSON, 1)),
    Tier.ORANGE: (
        (TeamRole.COMMANDER, 1),
        (TeamRole.MONITOR, 1),
        (TeamRole.ANALYST, 1),
        (TeamRole.SPOKESPERSON, 1),
        (TeamRole.CUSTOMER_SERVICE, 1),
    ),
    Tier.RED: (
        (TeamRole.COMMANDER, 1),
        (TeamRole.MONITOR, 2),
        (TeamRole.ANALYST, 1),
        (TeamRole.SPOKESPERSON, 1),
        (TeamRole.LEGAL, 1),
        (TeamRole.CUSTOMER_SERVICE, 1),
    ),
}
