"""Harvest offline from a folder of cards: `DIR/OWNER__NAME.md` or `DIR/OWNER__NAME/README.md`."""

from __future__ import annotations

from pathlib import Path

from advisor.errors import DataError
from advisor.harvest._cards import read_baseline, read_card, same_model
from advisor.harvest._records import (
    DUPLICATE_CARD,
    UNREADABLE,
    BaselineCard,
    CardRecord,
    Harvest,
    SkipReason,
)

_README_NAMES = ("README.md", "readme.md")


def card_files(directory: Path) -> dict[str, list[Path]]:
    """Model id -> the card files for it in `directory` (more than one is a duplicate).

    `OWNER__NAME` gives the id `OWNER/NAME`; a name without `__` is a legacy id without owner.
    A README.md at the top of the folder describes the folder and is not a card.
    """
    found: dict[str, list[Path]] = {}
    for path in sorted(directory.iterdir()):
        card: Path | None = None
        if path.is_file() and path.suffix.lower() == ".md" and path.name not in _README_NAMES:
            card, stem = path, path.stem
        elif path.is_dir():
            card = next((path / n for n in _README_NAMES if (path / n).is_file()), None)
            stem = path.name
        if card is not None:
            found.setdefault(stem.replace("__", "/", 1), []).append(card)
    return found


def harvest_cards(directory: str | Path, *, base: str | None = None) -> Harvest:
    """Read every card in `directory`; the card of `base` (when given) is the baseline.

    Args:
        directory: the folder of cards.
        base: the base model id; its card must be in the folder. Cards that name another base
            model are skipped.

    Raises:
        DataError: the folder is missing or holds no cards, or `base` has no card there.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"--cards {str(directory)!r} is not a folder of model cards")
    files = card_files(directory)
    if not files:
        raise DataError(
            f"no model cards in {str(directory)!r}; expected DIR/OWNER__NAME.md or "
            "DIR/OWNER__NAME/README.md files"
        )
    baseline, problem = _baseline(directory, files, base)
    records: list[CardRecord] = []
    skipped: list[SkipReason] = []
    for model_id, paths in files.items():
        text = _card_text(model_id, paths, directory)
        result = text if isinstance(text, SkipReason) else read_card(text, model_id, base=base)
        (skipped if isinstance(result, SkipReason) else records).append(result)  # type: ignore[arg-type]
    return Harvest(
        source=f"cards:{directory.resolve()}",
        base=base,
        cards=len(files),
        records=tuple(records),
        skipped=tuple(skipped),
        baseline=baseline,
        baseline_problem=problem,
    )


def _baseline(
    directory: Path, files: dict[str, list[Path]], base: str | None
) -> tuple[BaselineCard | None, str | None]:
    """Take the base's card out of `files` and read its metrics."""
    if base is None:
        return None, None
    matches = [model_id for model_id in files if same_model(model_id, base)]
    if len(matches) != 1:
        named = base.replace("/", "__")
        found = f"cards {', '.join(matches)} all match it" if matches else "no card for it"
        raise DataError(
            f"--base {base}: {found} in {str(directory)!r}; the base's card gives the baseline, "
            f"put it at {directory / named}.md (or leave out --base)"
        )
    model_id = matches[0]
    text = _card_text(model_id, files.pop(model_id), directory)
    if isinstance(text, SkipReason):
        return None, text.reason
    result = read_baseline(text, model_id)
    if isinstance(result, SkipReason):
        return None, result.reason
    return result, None


def _card_text(model_id: str, paths: list[Path], directory: Path) -> str | SkipReason:
    texts = []
    for path in paths:
        try:
            texts.append(path.read_text(encoding="utf-8-sig"))
        except UnicodeDecodeError:
            return SkipReason(model_id, UNREADABLE, f"{path.name} is not UTF-8 text")
        except OSError as exc:
            return SkipReason(model_id, UNREADABLE, f"{path.name}: {exc.strerror or exc}")
    if len(set(texts)) > 1:
        names = " and ".join(p.relative_to(directory).as_posix() for p in paths)
        return SkipReason(model_id, DUPLICATE_CARD, f"{names} differ")
    return texts[0]
