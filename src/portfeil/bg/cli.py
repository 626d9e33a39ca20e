"""``portfeil id check NUMBER``: which kind of Bulgarian identifier a number is, whether it is valid, what it encodes.

Exit status: 0 valid (as at least one kind), 1 invalid, 2 usage error.
"""

from __future__ import annotations

from typing import Any

import typer

from portfeil.bg.identifiers import Classification, classify
from portfeil.clitools import JsonOption, console, print_json

LABELS = {"egn": "ЕГН", "lnch": "ЛНЧ", "eik": "ЕИК (9 digits)", "eik13": "ЕИК (13 digits)"}


def classification_dict(c: Classification) -> dict[str, Any]:
    return {
        "number": c.number,
        "valid": c.valid,
        "kinds": [k.value for k in c.kinds],
        "reason": c.reason,
        "candidates": [
            {
                "kind": k.kind.value,
                "valid": k.valid,
                "reason": k.reason,
                **(
                    {"birth_date": k.egn.birth_date.isoformat(), "sex": k.egn.sex.value}
                    if k.egn is not None
                    else {}
                ),
            }
            for k in c.checks
        ],
    }


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Bulgarian identifiers (ЕГН, ЛНЧ, ЕИК).", no_args_is_help=True)

    @group.command("check")
    def check(number: str = typer.Argument(..., help="ЕГН, ЛНЧ or ЕИК"), as_json: bool = JsonOption) -> None:
        """Say which kind of number NUMBER is, whether it is valid and what it encodes."""
        c = classify(number.strip())
        if as_json:
            print_json(classification_dict(c))
        else:
            if c.error:
                console.print(f"[red]invalid[/red]: {c.error}")
            for k in c.checks:
                label = LABELS[k.kind.value]
                if k.valid:
                    extra = f" — born {k.egn.birth_date.isoformat()}, {k.egn.sex.value}" if k.egn else ""
                    typer.echo(f"valid {label}{extra}")
                else:
                    typer.echo(f"not a valid {label}: {k.reason}")
        raise typer.Exit(0 if c.valid else 1)

    app.add_typer(group, name="id")
