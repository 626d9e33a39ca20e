"""Operators' commands of the population register: ``portfeil persons ...`` and ``portfeil seed``."""

from __future__ import annotations

from datetime import date
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from portfeil.clitools import JsonOption, console, print_json, run, with_context
from portfeil.context import AppContext
from portfeil.sources import registry
from portfeil.sources.seed import seed_population


def _show(p: dict[str, Any]) -> None:
    names = p["names"]
    console.print(f"[bold]{names['given']} {names['middle'] or ''} {names['family']}[/bold]".replace("  ", " "))
    typer.echo(f"id               {p['id']}")
    typer.echo(f"personal number  {p['personal_number']} ({p['number_kind']})")
    typer.echo(f"latin            {names['given_latin']} {names['middle_latin'] or ''} {names['family_latin']}")
    typer.echo(f"born             {p['birth_date']} ({p['age']} years), {p['sex_label']}")
    typer.echo(f"nationalities    {', '.join(p['nationalities'])}")
    if p["date_of_death"]:
        typer.echo(f"died             {p['date_of_death']}")
    for d in p["documents"]:
        typer.echo(f"document         {d['doc_type']} {d['number']} {d['status']} until {d['expiry_date']}")


def register(app: typer.Typer) -> None:
    persons = typer.Typer(help="The population register (authentic source).", no_args_is_help=True)

    @persons.command("list")
    def list_cmd(
        alive: bool = typer.Option(False, "--alive", help="Only living persons."),
        min_age: int = typer.Option(None, "--min-age", min=0, help="Only persons at least this old today."),
        limit: int = typer.Option(20, "--limit", min=1, max=10_000),
        offset: int = typer.Option(0, "--offset", min=0),
        as_json: bool = JsonOption,
    ) -> None:
        """List persons."""

        async def go(ctx: AppContext) -> list[dict[str, Any]]:
            found = await registry.list_persons(
                ctx.db, clock=ctx.clock, alive=True if alive else None, min_age=min_age, limit=limit, offset=offset
            )
            on = registry.today(ctx.clock)
            return [registry.person_summary(p, on) for p in found]

        rows = run(with_context(go), as_json)
        if as_json:
            print_json(rows)
            return
        table = Table("id", "personal number", "name", "born", "alive")
        for p in rows:
            n = p["names"]
            table.add_row(p["id"], p["personal_number"], f"{n['given']} {n['family']}", p["birth_date"],
                          "yes" if p["alive"] else f"died {p['date_of_death']}")
        console.print(table)

    @persons.command("show")
    def show_cmd(ref: str = typer.Argument(..., metavar="ID", help="Internal id or ЕГН/ЛНЧ"),
                 as_json: bool = JsonOption) -> None:
        """Show one person."""

        async def go(ctx: AppContext) -> dict[str, Any]:
            return registry.person_summary(
                await registry.find_person(ctx.db, ref, clock=ctx.clock), registry.today(ctx.clock)
            )

        p = run(with_context(go), as_json)
        if as_json:
            print_json(p)
        else:
            _show(p)

    @persons.command("record-death")
    def record_death_cmd(
        ref: str = typer.Argument(..., metavar="ID", help="Internal id or ЕГН/ЛНЧ"),
        when: str = typer.Option(..., "--date", help="Date of death, YYYY-MM-DD."),
        as_json: bool = JsonOption,
    ) -> None:
        """Record a person's death (documents are invalidated, consumers are told through the outbox)."""
        try:
            day = date.fromisoformat(when)
        except ValueError:
            raise typer.BadParameter("expected YYYY-MM-DD", param_hint="--date") from None

        async def go(ctx: AppContext) -> dict[str, Any]:
            p = await registry.record_death(ctx.db, ref, day, clock=ctx.clock, actor="operator-cli")
            return registry.person_summary(p, registry.today(ctx.clock))

        p = run(with_context(go), as_json)
        if as_json:
            print_json(p)
        else:
            console.print(f"recorded death on {p['date_of_death']} for person {p['id']}")

    app.add_typer(persons, name="persons")

    @app.command("seed")
    def seed_cmd(
        count: int = typer.Option(..., "--persons", min=0, help="Synthetic persons to add."),
        seed: int = typer.Option(0, "--seed", help="Random seed: the same seed gives the same people."),
        chunk: int = typer.Option(10_000, "--chunk", min=100, help="Persons per bulk transaction."),
        as_json: bool = JsonOption,
    ) -> None:
        """Fill the population register with a deterministic synthetic population."""

        async def go(ctx: AppContext) -> dict[str, Any]:
            with Progress(
                TextColumn("seeding"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                console=console, disable=as_json, transient=False,
            ) as bar:
                task = bar.add_task("persons", total=count)
                result = await seed_population(
                    ctx.db, count, clock=ctx.clock, seed=seed, chunk_size=chunk,
                    progress=lambda done: bar.update(task, completed=done),
                )
            return {
                "persons": result.persons, "addresses": result.addresses, "documents": result.documents,
                "relations": result.relations, "seconds": round(result.seconds, 3),
                "persons_per_second": round(result.persons_per_second, 1),
            }

        out = run(with_context(go), as_json)
        if as_json:
            print_json(out)
        else:
            console.print(
                f"seeded {out['persons']} persons ({out['documents']} documents, {out['relations']} relations) "
                f"in {out['seconds']} s — {out['persons_per_second']} persons/s"
            )
