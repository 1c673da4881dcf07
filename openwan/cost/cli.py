"""``openwan cost``: print a deployment sizing's monthly AWS bill."""

from __future__ import annotations

import click

from .estimate import SECTIONS, Estimate, estimate, load_prices
from .sizing import SizingError, load_sizing

NAME, DETAIL, AMOUNT = 36, 52, 12
LABEL = NAME + DETAIL + 1


def _money(amount: float) -> str:
    return f"${amount:,.2f}"


def render(result: Estimate, *, baseline: Estimate | None = None) -> list[str]:
    """The estimate as text lines: sections, subtotals, total, and the saving vs a baseline."""
    lines = [
        f"OpenWan monthly AWS cost estimate: profile {result.profile} "
        f"({result.region}, prices as of {result.prices_as_of}, USD)",
        "",
    ]
    for section in SECTIONS:
        items = [line for line in result.lines if line.section == section]
        if not items:
            continue
        lines.append(section)
        for item in items:
            mark = "  " if item.in_seed_table else "+ "
            amount = _money(item.monthly)
            lines.append(f"{mark}{item.name:<{NAME}} {item.detail:<{DETAIL}} {amount:>{AMOUNT}}")
        subtotal = f"Subtotal {section.split(' (')[0]}"
        lines.append(f"  {subtotal:<{LABEL}} {_money(result.subtotal(section)):>{AMOUNT}}")
        lines.append("")
    lines.append(f"{'TOTAL MONTHLY COST':<{LABEL + 2}} {_money(result.total):>{AMOUNT}}")
    omitted = result.total - result.seed_table_total
    if omitted:
        label = "of which the seed's table leaves out (+)"
        lines.append(f"{label:<{LABEL + 2}} {_money(omitted):>{AMOUNT}}")
    if baseline is not None:
        saving = baseline.total - result.total
        share = saving / baseline.total if baseline.total else 0.0
        lines.append(f"{'Seed profile total':<{LABEL + 2}} {_money(baseline.total):>{AMOUNT}}")
        lines.append(f"{'Saving vs seed':<{LABEL + 2}} {_money(saving):>{AMOUNT}} ({share:.1%})")
    for note in result.notes:
        lines.append(f"note: {note}")
    return lines


@click.command("cost")
@click.option(
    "--profile",
    default="seed",
    help="seed | optimized | lean-ha | path to a deployment config file",
)
def cost(profile: str) -> None:
    """Monthly AWS cost estimate of a deployment sizing."""
    try:
        sizing = load_sizing(profile)
        result = estimate(sizing, load_prices(sizing.region))
        baseline = None
        if profile != "seed":
            seed = load_sizing("seed")
            baseline = estimate(seed, load_prices(seed.region))
    except SizingError as error:
        raise click.ClickException(str(error)) from None
    for line in render(result, baseline=baseline):
        click.echo(line)
