"""How `crisiswatch backtest` prints what a replay found: a readable list or JSON."""

import json

import typer

from services.analysis.backtest import BacktestResult
from services.analysis.risk import NO_TIER


def print_report(result: BacktestResult, *, as_json: bool) -> None:
    """Print the replay's signals, newest last."""
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "watchlist_id": str(result.watchlist_id),
                    "watchlist": result.watchlist_name,
                    "query": result.query,
                    "mentions_read": result.mentions_read,
                    "mentions_matched": result.mentions_matched,
                    "signals": [s.as_dict() for s in result.signals],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    typer.echo(f"watchlist {result.watchlist_name} ({result.watchlist_id})")
    typer.echo(f"rule: {result.query}")
    typer.echo(
        f"{result.mentions_read} mentions read, {result.mentions_matched} matched in range, "
        f"{len(result.signals)} signals"
    )
    for signal in result.signals:
        before = signal.previous.value if signal.previous else NO_TIER
        after = signal.tier.value if signal.tier else NO_TIER
        typer.echo(f"\n{signal.at.isoformat()}  {before} -> {after}  score {signal.score:.1f}")
        for reason in signal.reasons[1:]:
            typer.echo(f"    {reason}")
