"""The scripted drill scenarios (定期模拟演练): what each is about and what its watchlist watches.

Shared by analysis, which makes a drill's watchlist from them, the gateway, which names
them, and `crisiswatch drill`, which plays their posts. The brands are fictional: the
demo's for product safety, the detection benchmark's streams' for the others.
"""

from dataclasses import dataclass

from libs.contracts.enums import DrillScenario


@dataclass(frozen=True)
class Scenario:
    """A scripted crisis: its Chinese label, the fictional brand and product, the keywords."""

    label: str
    brand: str
    product: str
    keywords: tuple[str, ...]


SCENARIOS: dict[DrillScenario, Scenario] = {
    # The demo's crisis (`crisiswatch.demo_stream`), with the demo watchlist's keywords.
    DrillScenario.PRODUCT_SAFETY: Scenario(
        "产品安全", "禾岚乳业", "奶粉", ("禾岚", "禾岚乳业", "禾岚奶粉", "禾岚启护", "禾岚悠羊")
    ),
    DrillScenario.DATA_LEAK: Scenario("数据泄露", "星链优选", "会员", ("星链优选", "星链")),
    DrillScenario.RUMOUR: Scenario("网络谣言", "麦旭粮油", "菜籽油", ("麦旭", "麦旭粮油")),
}
"""The scripted scenarios; `replay` is not one: it plays a past incident's own mentions."""

REPLAY_LABEL = "事件重放"
"""The Chinese label of a replay drill."""


def label(scenario: DrillScenario) -> str:
    """Return the Chinese name of a scenario, e.g. 数据泄露."""
    found = SCENARIOS.get(scenario)
    return found.label if found else REPLAY_LABEL
