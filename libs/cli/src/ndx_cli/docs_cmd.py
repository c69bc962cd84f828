"""`ndx docs`: regenerates the documents generated from the code, or checks they are current."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

CONFIGURATION = Path("docs/configuration.md")


def generated(root: Path) -> dict[Path, Callable[[], str]]:
    """Each generated document (relative to the repository root) and how to produce it."""
    from .docs import asyncapi
    from .docs.configuration import render

    return {CONFIGURATION: lambda: render(root), **asyncapi.generated(root)}


@click.command()
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="The repository root; documents go under its docs/ folder.",
)
@click.option("--check", is_flag=True, help="Write nothing; fail if a document is out of date.")
def docs(root: Path, check: bool) -> None:
    """Writes docs/configuration.md (every environment variable, from the settings classes) and
    docs/asyncapi/<service>.yaml (each service's topics and messages, AsyncAPI 3.0)."""
    stale = []
    for path, render in generated(root.resolve()).items():
        target = root / path
        text = render()
        if target.is_file() and target.read_text() == text:
            continue
        if check:
            stale.append(str(path))
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        click.echo(f"wrote {path}")
    if stale:
        raise click.ClickException(
            f"out of date: {', '.join(stale)}; run 'make docs' (ndx docs) and commit"
        )
