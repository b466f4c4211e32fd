"""A model card's text -> a CardRecord (one trial) or a SkipReason. Pure: text in, objects out.

Reads what `transformers.Trainer` writes into a card: the YAML front matter (`base_model`,
`pipeline_tag`, `tags`, `datasets`, `model-index`), the "Training hyperparameters" list and the
"results on the evaluation set" list. Nothing is guessed: a needed value the card does not
state, a value stated twice with different values, or another task is a skip with its reason.
"""

from __future__ import annotations

import re
from typing import Any

from advisor.harvest._metrics import CardProblem, IndexEntry, index_entries, stated_metrics
from advisor.harvest._records import (
    CONTRADICTION,
    INVALID_VALUE,
    MISSING_FIELD,
    NOT_SEQUENCE_CLASSIFICATION,
    OTHER_BASE,
    UNREADABLE,
    BaselineCard,
    CardRecord,
    SkipReason,
)
from advisor.harvest._text import (
    FrontMatterError,
    Stated,
    as_list,
    parse_number,
    section_bullets,
    split_front_matter,
)

SEQUENCE_CLASSIFICATION = "text-classification"
# Hub pipeline tags (and their old aliases) that name a task; other tags are not tasks.
_TASKS = {
    "text-classification", "token-classification", "question-answering", "fill-mask",
    "summarization", "translation", "text-generation", "text2text-generation",
    "zero-shot-classification", "feature-extraction", "sentence-similarity",
    "table-question-answering", "multiple-choice", "text-ranking", "image-classification",
    "automatic-speech-recognition", "audio-classification", "object-detection",
}  # fmt: skip
_TASK_ALIASES = {"sentiment-analysis": "text-classification", "ner": "token-classification"}
# field -> the names the Trainer list (or a hand-written one) gives it
_HYPERPARAMETERS = {
    "learning_rate": ("learning_rate", "lr"),
    "batch_size": ("train_batch_size", "batch_size"),
    "epochs": ("num_epochs", "num_train_epochs", "epochs"),
    "seed": ("seed",),
}
_CARD_NAMES = {"learning_rate": "learning_rate", "batch_size": "train_batch_size",
               "epochs": "num_epochs", "seed": "seed"}  # fmt: skip
_FINETUNED_FROM = re.compile(r"fine-tuned version of \[?`?(?P<id>[\w.\-/]+)", re.I)
_PROSE_DATASET = re.compile(r"\) on (?:the )?(?P<name>.+?) datasets?\.", re.I)


def read_card(
    text: str, model_id: str, *, base: str | None = None, hub_task: str | None = None
) -> CardRecord | SkipReason:
    """Read one fine-tuned model's card.

    Args:
        text: the card (README.md) as written.
        model_id: `OWNER/NAME` of the model.
        base: the base model id; a card naming only other base models is skipped.
        hub_task: the Hub's pipeline tag, used when the card itself declares no task.

    Returns:
        The record, or why the card gives no trial.
    """
    try:
        metadata, body = split_front_matter(text)
        entries = index_entries(metadata)
        task = card_task(metadata, entries, hub_task)
        _check_base(metadata, body, base)
        params = _hyperparameters(body)
        metrics, source = stated_metrics(body, entries)
    except FrontMatterError as exc:
        return SkipReason(model_id, UNREADABLE, str(exc))
    except CardProblem as problem:
        return SkipReason(model_id, problem.code, problem.detail)
    if not metrics:
        return _no_metrics(model_id)
    return CardRecord(
        model_id=model_id,
        learning_rate=params["learning_rate"],
        batch_size=int(params["batch_size"]),
        epochs=params["epochs"],
        accuracy=metrics.get("accuracy"),
        f1=metrics.get("f1"),
        loss=metrics.get("loss"),
        task=task,
        dataset=card_dataset(metadata, body, entries),
        seed=int(params["seed"]) if "seed" in params else None,
        metrics_source=source,
        hyperparameters=_raw_list(body),
    )


def read_baseline(text: str, model_id: str) -> BaselineCard | SkipReason:
    """Read the base model's own card: only its metrics matter (it has no fine-tune of ours)."""
    try:
        metadata, body = split_front_matter(text)
        metrics, source = stated_metrics(body, index_entries(metadata))
    except FrontMatterError as exc:
        return SkipReason(model_id, UNREADABLE, str(exc))
    except CardProblem as problem:
        return SkipReason(model_id, problem.code, problem.detail)
    if not metrics:
        return _no_metrics(model_id)
    return BaselineCard(model_id=model_id, metrics=metrics, metrics_source=source)


def card_task(
    metadata: dict[str, Any], entries: list[IndexEntry], hub_task: str | None = None
) -> str | None:
    """The task the card declares (`pipeline_tag`, task tags, model-index tasks), else the Hub's.

    Returns:
        `text-classification`, or None when neither the card nor the Hub declares a task.

    Raises:
        CardProblem: another task, or two different tasks declared.
    """
    declared = [metadata.get("pipeline_tag"), *as_list(metadata.get("tags"))]
    declared += [entry.task for entry in entries]
    tasks = sorted({t for t in (_task_name(v) for v in declared) if t})
    if not tasks and hub_task:
        tasks = [_task_name(hub_task) or hub_task]
    if len(tasks) > 1:
        raise CardProblem(CONTRADICTION, f"the task is stated as {' and '.join(tasks)}")
    if tasks and tasks[0] != SEQUENCE_CLASSIFICATION:
        raise CardProblem(NOT_SEQUENCE_CLASSIFICATION, f"the task is {tasks[0]}")
    return tasks[0] if tasks else None


def _task_name(value: Any) -> str | None:
    name = str(value).strip().lower() if isinstance(value, str) else ""
    name = _TASK_ALIASES.get(name, name)
    return name if name in _TASKS else None


def same_model(first: str, second: str) -> bool:
    """Whether two Hub ids name the same model (a legacy id has no `OWNER/` part)."""
    first, second = first.strip().strip("/").lower(), second.strip().strip("/").lower()
    if first == second:
        return True
    if "/" in first and "/" in second:
        return False
    return first.rsplit("/", 1)[-1] == second.rsplit("/", 1)[-1]


def _check_base(metadata: dict[str, Any], body: str, base: str | None) -> None:
    declared = [str(b) for b in as_list(metadata.get("base_model")) if b]
    declared += [m.group("id").rstrip(".") for m in _FINETUNED_FROM.finditer(body)]
    if base is None or not declared or any(same_model(d, base) for d in declared):
        return
    raise CardProblem(OTHER_BASE, f"fine-tuned from {declared[0]}, not {base}")


def _hyperparameters(body: str) -> dict[str, float]:
    """learning_rate, batch_size, epochs (and seed when stated) from the Trainer list."""
    bullets = section_bullets(body, "Training hyperparameters")
    if not bullets:
        raise CardProblem(MISSING_FIELD, "no training hyperparameters list")
    stated: dict[str, list[Stated]] = {field: [] for field in _HYPERPARAMETERS}
    names = {n: f for f, aliases in _HYPERPARAMETERS.items() for n in aliases}
    for name, raw in bullets:
        field = names.get(name.strip().lower().replace(" ", "_"))
        if field is None:
            continue
        number = parse_number(raw)
        if number is None:
            raise CardProblem(INVALID_VALUE, f"{name.strip()} is {raw!r}, not a number")
        stated[field].append(Stated(number[0], number[1], "hyperparameters"))
    values = {f: _one(f, s) for f, s in stated.items() if s}
    missing = [_CARD_NAMES[f] for f in ("learning_rate", "batch_size", "epochs") if f not in values]
    if missing:
        steps = any(n.strip().lower() == "training_steps" for n, _ in bullets)
        note = (
            " (the card states training_steps instead)" if steps and "num_epochs" in missing else ""
        )
        raise CardProblem(
            MISSING_FIELD, f"no {', '.join(missing)} in the training hyperparameters{note}"
        )
    _validate(values)
    epochs = values["epochs"]
    values["epochs"] = int(epochs) if float(epochs).is_integer() else epochs
    return values


def _one(field: str, stated: list[Stated]) -> float:
    for value in stated[1:]:
        if not stated[0].agrees(value, rounded=False):
            detail = f"{_CARD_NAMES[field]} is stated as {stated[0].text} and {value.text}"
            raise CardProblem(CONTRADICTION, detail)
    return stated[0].value


def _validate(values: dict[str, float]) -> None:
    rules = {
        "learning_rate": (values["learning_rate"] > 0, "a positive number"),
        "batch_size": (values["batch_size"] >= 1 and values["batch_size"].is_integer(),
                       "a whole number >= 1"),
        "epochs": (values["epochs"] > 0 and values["epochs"] < float("inf"), "a positive number"),
        "seed": (values.get("seed", 0.0).is_integer(), "a whole number"),
    }  # fmt: skip
    for field, (ok, wanted) in rules.items():
        if not ok:
            raise CardProblem(
                INVALID_VALUE, f"{_CARD_NAMES[field]} is {values[field]:g}, not {wanted}"
            )


def _raw_list(body: str) -> dict[str, str]:
    return {
        name.strip(): raw for name, raw in section_bullets(body, "Training hyperparameters") or []
    }


def card_dataset(metadata: dict[str, Any], body: str, entries: list[IndexEntry]) -> str | None:
    """The evaluation dataset as the card names it: model-index, else `datasets`, else prose."""
    for entry in entries:
        if entry.label and (entry.split or "").lower() != "train":
            return entry.label
    listed = [str(d) for d in as_list(metadata.get("datasets")) if d]
    if listed:
        return ",".join(listed)
    prose = _PROSE_DATASET.search(body)
    if prose and prose.group("name").strip().lower() not in ("unknown", "an unknown"):
        return prose.group("name").strip()
    return None


def _no_metrics(model_id: str) -> SkipReason:
    detail = "no accuracy, f1 or loss in the evaluation results or model-index"
    return SkipReason(model_id, MISSING_FIELD, detail)
