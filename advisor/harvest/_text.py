"""The pieces of a model card's text: YAML front matter, Markdown bullet lists, stated numbers.

Pure string handling; knows the layout of the cards `transformers.Trainer` writes
(`modelcard.TrainingSummary.to_model_card`) but nothing about which values matter.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import yaml

_FRONT_MATTER = re.compile(r"\A\s*---[ \t]*\n(?P<yaml>.*?)^(?:---|\.\.\.)[ \t]*$\n?", re.S | re.M)
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(?P<title>.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s*[-*+]\s+(?P<name>[^:\n]+?)\s*:\s*(?P<value>.*?)\s*$")
_EVAL_SENTENCE = re.compile(r"results on the evaluation set", re.I)
# `- F1: {'f1': 0.91}`: compute_metrics returned the `evaluate` dict unflattened
_DICT_VALUE = re.compile(r"^\{\s*['\"]?[\w ]+['\"]?\s*:\s*(?P<number>[^,{}]+?)\s*\}$")
_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


class FrontMatterError(ValueError):
    """The YAML front matter cannot be read."""


@dataclass(frozen=True)
class Stated:
    """A number as the card states it.

    Attributes:
        value: the number.
        text: how the card writes it (`0.9312`, `2e-05`).
        where: where the card states it (`results list`, `model-index`, `hyperparameters`).
    """

    value: float
    text: str
    where: str

    @property
    def half_unit(self) -> float:
        """Half a unit in the last written digit: the rounding a printed value may carry."""
        mantissa, _, exponent = self.text.lower().partition("e")
        decimals = len(mantissa.partition(".")[2]) - (int(exponent) if exponent else 0)
        return 0.5 * 10.0 ** (-decimals)

    def agrees(self, other: Stated, *, rounded: bool) -> bool:
        """Same value; with `rounded`, equal up to the rounding of the less precise text."""
        if not rounded:
            return math.isclose(self.value, other.value, rel_tol=1e-12, abs_tol=0.0)
        tolerance = max(self.half_unit, other.half_unit) + 1e-12
        return abs(self.value - other.value) <= tolerance


def normalise_newlines(text: str) -> str:
    """Text without a byte-order mark and with `\\n` line ends only."""
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Split a card into its YAML metadata (`{}` when it has none) and its Markdown body.

    Raises:
        FrontMatterError: the front matter is not valid YAML, or not a mapping.
    """
    text = normalise_newlines(text)
    match = _FRONT_MATTER.match(text)
    if match is None:
        return {}, text
    try:
        metadata = yaml.safe_load(match.group("yaml"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark is not None else ""
        raise FrontMatterError(f"the YAML front matter is not valid YAML{where}") from exc
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise FrontMatterError("the YAML front matter is not a mapping of keys to values")
    return metadata, text[match.end() :]


def section_bullets(body: str, title: str) -> list[tuple[str, str]] | None:
    """`(name, value)` of every `- name: value` bullet under each heading called `title`.

    Returns:
        The bullets in order, or None when the card has no such heading.
    """
    bullets: list[tuple[str, str]] = []
    found = False
    inside = False
    for line in body.split("\n"):
        heading = _HEADING.match(line)
        if heading:
            inside = heading.group("title").strip().lower() == title.lower()
            found = found or inside
            continue
        bullet = _BULLET.match(line) if inside else None
        if bullet:
            bullets.append((bullet.group("name"), bullet.group("value")))
    return bullets if found else None


def evaluation_bullets(body: str) -> list[tuple[str, str]]:
    """The bullets after each "It achieves the following results on the evaluation set:"."""
    bullets: list[tuple[str, str]] = []
    lines = body.split("\n")
    for index, line in enumerate(lines):
        if not _EVAL_SENTENCE.search(line):
            continue
        for following in lines[index + 1 :]:
            bullet = _BULLET.match(following)
            if bullet:
                bullets.append((bullet.group("name"), bullet.group("value")))
            elif following.strip() or bullets:
                break
    return bullets


def parse_number(raw: Any) -> tuple[float, str] | None:
    """`(value, text)` of a stated number, or None when it is not one.

    Accepts YAML numbers, decimal and scientific text (`2e-05`), `nan`/`inf` (kept, so callers
    can reject them by name) and a one-entry dict `{'f1': 0.91}`.
    """
    if isinstance(raw, bool):
        return None
    if isinstance(raw, (int, float)):
        return float(raw), repr(raw)
    if not isinstance(raw, str):
        return None
    text = raw.strip().strip("`").strip()
    nested = _DICT_VALUE.match(text)
    if nested:
        text = nested.group("number").strip()
    if text.lower() in ("nan", "inf", "-inf", "+inf"):
        return float(text), text
    if not _NUMBER.match(text):
        return None
    return float(text), text


def as_list(value: Any) -> list[Any]:
    """A YAML scalar or list as a list (`None` -> `[]`)."""
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]
