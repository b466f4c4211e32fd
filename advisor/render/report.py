"""Rich output for `advisor report`: where the page and figures are, and what was skipped."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from advisor.report import ReportResult


def report_summary(result: ReportResult, console: Console | None = None) -> None:
    """The HTML page, the figures written, and the notes (skipped or refitted parts)."""
    console = console or Console()
    console.print(f"[bold]report:[/] {escape(str(result.html))}")
    console.print(f"{len(result.figures)} figures in {escape(str(result.out_dir))}:")
    for path in result.figures:
        console.print(f"  {escape(path.name)}")
    for note in result.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")
