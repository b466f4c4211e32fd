"""The Typer app and what every command shares: options, error handling, JSON output."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

import typer

from advisor.errors import AdvisorError

app = typer.Typer(
    name="advisor",
    help="Metric-aware tuning advisor for fine-tuning transformer text classifiers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Click's plain help: options and their text wrap to the terminal, readable at 80 columns
    # (Rich panels squeeze the help text into a third of the width beside the type column).
    rich_markup_mode=None,
)


def version_text() -> str:
    """`advisor 0.1.0 (Python 3.11.9; optuna 5.0.0, transformers ..., torch ...)`, read from
    package metadata so that nothing heavy is imported."""
    import platform
    from importlib import metadata

    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    from advisor import __version__

    libraries = ", ".join(f"{n} {version(n)}" for n in ("optuna", "transformers", "torch"))
    return f"advisor {__version__} (Python {platform.python_version()}; {libraries})"


def _show_version(value: bool) -> None:
    if value:
        typer.echo(version_text())
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_show_version,
            is_eager=True,
            help="Print the versions of advisor and its main libraries, and exit.",
        ),
    ] = False,
) -> None:
    """Metric-aware tuning advisor for fine-tuning transformer text classifiers.

    Pipeline: grid -> fit-surface -> suggest -> tune -> report (`advisor COMMAND --help`).
    """


StorageOption = Annotated[
    str | None,
    typer.Option(
        "--storage",
        metavar="URL",
        help="Optuna RDB storage URL (else $ADVISOR_STORAGE, else sqlite:///advisor.db).",
        show_default=False,
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Machine-readable result on stdout, nothing else.")
]
StudyOption = Annotated[
    str, typer.Option("--study", metavar="NAME", help="Study name.", show_default=False)
]

T = TypeVar("T")


def fail(message: str) -> typer.Exit:
    """Print one red line on stderr and return the exit to raise (code 1)."""
    from rich.console import Console
    from rich.markup import escape

    from advisor.study.storage import scrub

    # escape: "[study]" in a message is text, not Rich markup; scrub: no message shows a password
    Console(stderr=True, highlight=False, soft_wrap=True).print(
        f"[bold red]error:[/] {escape(scrub(message))}", markup=True
    )
    return typer.Exit(code=1)


def quiet_libraries() -> None:
    """Silence library chatter (Optuna's info logs, experimental-feature warnings) on the CLI."""
    import logging
    import warnings

    warnings.filterwarnings("ignore", message=r".*is experimental.*")
    warnings.filterwarnings("ignore", message=r".*experimental feature.*")
    warnings.filterwarnings("ignore", message=r".*pin_memory.*")
    # advisor records heartbeats itself around each fine-tune (advisor.study.worker.heartbeat)
    warnings.filterwarnings("ignore", message=r"Heartbeat of storage is supposed to be used")
    logging.getLogger("optuna").setLevel(logging.WARNING)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn library errors into one line on stderr and exit code 1."""
    quiet_libraries()
    try:
        yield
    except AdvisorError as exc:
        raise fail(str(exc)) from None
    except Exception as exc:
        from advisor.study.storage import storage_failure

        failure = storage_failure(exc)  # a database error outside the library's own checks
        if failure is None:
            raise
        raise fail(str(failure)) from None


def guarded(function: Callable[[], T]) -> T:
    """Call `function`, turning library errors into one line on stderr and exit code 1."""
    with user_errors():
        return function()
    raise AssertionError("unreachable")  # pragma: no cover


def emit_json(payload: dict[str, Any]) -> None:
    """Write the machine-readable result to stdout (and nothing else)."""
    sys.stdout.write(json.dumps(payload, indent=2, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def next_steps(steps: list[tuple[str, str]], storage: str | None = None) -> None:
    """Close a command's human output with what to run next: `(command, why)` pairs. The
    `--storage` the user gave is repeated (password masked) so the lines can be pasted."""
    from rich.console import Console
    from rich.markup import escape

    suffix = ""
    if storage:
        from advisor.study.storage import mask_url

        suffix = f" --storage {mask_url(storage)}"
    console = Console(highlight=False)
    for i, (command, why) in enumerate(steps):
        lead = "next:" if i == 0 else "then:"
        console.print(
            f"[bold]{lead}[/] {escape(command + suffix)}  [dim]# {escape(why)}[/]", soft_wrap=True
        )


def parse_csv_option(value: str) -> list[str]:
    """`"f1, loss"` -> `["f1", "loss"]`."""
    return [part.strip() for part in value.split(",") if part.strip()]


def require_one_source(study: str | None, table: object | None) -> None:
    """Usage error (exit 2) unless exactly one of --study and --table is given."""
    if (study is None) == (table is None):
        raise typer.BadParameter(
            "pass exactly one of --study NAME or --table FILE.csv", param_hint="--study / --table"
        )
