"""Model-card parsing: every value read from the hand-written cards, every skip reason."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

from advisor.errors import DataError
from advisor.harvest import (
    BaselineCard,
    CardRecord,
    SkipReason,
    card_files,
    harvest_cards,
    read_baseline,
    read_card,
    same_model,
)
from advisor.harvest._metrics import metric_name
from advisor.harvest._text import Stated, parse_number, split_front_matter

CARDS = Path(__file__).resolve().parents[1] / "fixtures" / "cards" / "sst2"
BASE = "distilbert-base-uncased-finetuned-sst-2-english"
BASE_FILE = "distilbert__distilbert-base-uncased-finetuned-sst-2-english.md"


def fixture(name: str) -> str:
    return (CARDS / name).read_text(encoding="utf-8-sig")


# ---------------------------------------------------------------- hand-written fixture cards

USABLE = {
    # modern Trainer card; its per-epoch table ends at 0.9048/0.4132, the list says 0.9128/0.3011
    "alice__distilbert-sst2-lr2e-5.md": dict(
        learning_rate=2e-05, batch_size=16, epochs=3, accuracy=0.9128, f1=0.9150, loss=0.3011,
        task="text-classification", dataset="glue/sst2", seed=42, metrics_source="results list"),
    # DIR/OWNER__NAME/README.md, old Trainer: eval_* spellings, num_epochs 2.0, base only in prose
    "bob__sst2-distilbert-ft/README.md": dict(
        learning_rate=5e-05, batch_size=32, epochs=2, accuracy=0.9002, f1=0.9034, loss=0.2897,
        task="text-classification", dataset="glue/sst2", seed=7, metrics_source="results list"),
    # states no F1 anywhere: null, never guessed
    "carol__distilbert-sst2-no-f1.md": dict(
        learning_rate=1e-05, batch_size=8, epochs=4, accuracy=0.9117, f1=None, loss=0.3378,
        task="text-classification", dataset="glue/sst2", seed=42, metrics_source="results list"),
    # model-index only; CRLF, flow-style YAML, quoted values, `sentiment-analysis` tag alias
    "dave__distilbert-sst2-imdb.md": dict(
        learning_rate=3e-05, batch_size=16, epochs=1, accuracy=0.8936, f1=0.8951, loss=0.2712,
        task="text-classification", dataset="imdb/plain_text", seed=1234,
        metrics_source="model-index"),
    # no task declared anywhere, "an unknown dataset": kept, task unknown
    "heidi__distilbert-sst2-notask.md": dict(
        learning_rate=4e-05, batch_size=32, epochs=2, accuracy=0.9048, f1=0.9067, loss=0.2759,
        task=None, dataset=None, seed=42, metrics_source="results list"),
    # BOM, `---   ` fences, `{'f1': 0.9101}` values, fractional epochs
    "ivan__distilbert-sst2-frac.md": dict(
        learning_rate=2e-05, batch_size=64, epochs=2.5, accuracy=0.9083, f1=0.9101, loss=0.2634,
        task="text-classification", dataset="glue/sst2", seed=0, metrics_source="results list"),
}  # fmt: skip

SKIPPED = {
    "erin__distilbert-sst2-steps.md": "missing field: no num_epochs in the training "
    "hyperparameters (the card states training_steps instead)",
    "frank__distilbert-sst2-ner.md": "not sequence classification: the task is "
    "token-classification",
    "grace__distilbert-sst2-dup.md": "contradiction: learning_rate is stated as 2e-05 and 3e-05",
    "judy__bert-base-uncased-sst2.md": "other base: fine-tuned from google-bert/bert-base-uncased, "
    f"not {BASE}",
    "kim__distilbert-sst2-keras.md": "missing field: no learning_rate, train_batch_size, "
    "num_epochs in the training hyperparameters",
}


@pytest.mark.parametrize("name", sorted(USABLE))
def test_usable_fixture_cards_give_every_value(name: str) -> None:
    record = read_card(fixture(name), "owner/model", base=BASE)
    assert isinstance(record, CardRecord), record
    expected = USABLE[name]
    for field, value in expected.items():
        got = getattr(record, field)
        assert got == value and type(got) is type(value), (field, got, value)


def test_the_results_list_is_authoritative_over_the_per_epoch_table() -> None:
    text = fixture("alice__distilbert-sst2-lr2e-5.md")
    last_row = text.split("| 0.0851        | 3.0   | 12630 |")[1]
    assert "0.4132" in last_row and "0.9048" in last_row  # the table's final epoch differs
    record = read_card(text, "alice/distilbert-sst2-lr2e-5")
    assert isinstance(record, CardRecord)
    assert (record.accuracy, record.f1, record.loss) == (0.9128, 0.9150, 0.3011)


def test_hyperparameters_are_kept_as_stated() -> None:
    record = read_card(fixture("bob__sst2-distilbert-ft/README.md"), "bob/sst2-distilbert-ft")
    assert isinstance(record, CardRecord)
    assert record.hyperparameters["num_epochs"] == "2.0"
    assert record.hyperparameters["mixed_precision_training"] == "Native AMP"
    assert record.missing_metrics == ()


def test_missing_f1_is_null_and_listed_as_missing() -> None:
    record = read_card(fixture("carol__distilbert-sst2-no-f1.md"), "carol/x")
    assert isinstance(record, CardRecord)
    assert record.f1 is None and record.missing_metrics == ("f1",)
    assert record.to_json() == {
        "model_id": "carol/x", "learning_rate": 1e-05, "batch_size": 8, "epochs": 4,
        "accuracy": 0.9117, "f1": None, "loss": 0.3378,
    }  # fmt: skip


@pytest.mark.parametrize("name", sorted(SKIPPED))
def test_skipped_fixture_cards_say_why(name: str) -> None:
    skip = read_card(fixture(name), "owner/model", base=BASE)
    assert isinstance(skip, SkipReason), skip
    assert skip.model_id == "owner/model"
    assert skip.reason == SKIPPED[name]


def test_base_card_gives_the_validation_metrics_not_the_train_split() -> None:
    baseline = read_baseline(fixture(BASE_FILE), "distilbert/" + BASE)
    assert isinstance(baseline, BaselineCard)
    assert baseline.metrics == {
        "accuracy": 0.9105504587155964,
        "f1": 0.9137168141592922,
        "loss": 0.39013850688934326,
    }
    assert baseline.metrics_source == "model-index"
    assert baseline.to_attr()["kind"] == "card"
    # its prose list uses `=`, not the Trainer's list: it is no trial
    skip = read_card(fixture(BASE_FILE), "distilbert/" + BASE)
    assert isinstance(skip, SkipReason)
    assert skip.reason == "missing field: no training hyperparameters list"


# ---------------------------------------------------------------- inline variants

HYPER = """- learning_rate: 2e-05
- train_batch_size: 16
- eval_batch_size: 16
- seed: 42
- lr_scheduler_type: linear
- num_epochs: 3"""
RESULTS = "- Loss: 0.3011\n- Accuracy: 0.9128\n- F1: 0.9150"
INDEX = """model-index:
- name: m
  results:
  - task:
      name: Text Classification
      type: text-classification
    dataset:
      name: glue
      type: glue
      config: sst2
      split: validation
    metrics:
    - name: Accuracy
      type: accuracy
      value: {accuracy}
      verified: {verified}
"""


def card(
    meta: str | None = "tags:\n- generated_from_trainer\n",
    results: str | None = RESULTS,
    hyper: str | None = HYPER,
) -> str:
    text = f"---\n{meta}---\n\n" if meta is not None else ""
    text += "# m\n\nThis model is a fine-tuned version of [x](https://huggingface.co/x).\n"
    if results is not None:
        text += f"It achieves the following results on the evaluation set:\n{results}\n"
    text += "\n## Training procedure\n"
    if hyper is not None:
        text += "\n### Training hyperparameters\n\nThe following hyperparameters were used "
        text += f"during training:\n{hyper}\n"
    return text + "\n### Framework versions\n\n- Transformers 4.44.2\n"


def record_of(text: str, **kwargs: str) -> CardRecord:
    record = read_card(text, "o/m", **kwargs)
    assert isinstance(record, CardRecord), record
    return record


def reason_of(text: str, **kwargs: str) -> str:
    skip = read_card(text, "o/m", **kwargs)
    assert isinstance(skip, SkipReason), skip
    return skip.reason


def test_list_and_unverified_model_index_that_disagree_contradict() -> None:
    meta = INDEX.format(accuracy=0.8912, verified="false")
    assert reason_of(card(meta)) == (
        "contradiction: accuracy is stated as 0.9128 and 0.8912 in the results list and model-index"
    )


def test_list_and_model_index_agreeing_up_to_rounding_are_one_statement() -> None:
    record = record_of(card(INDEX.format(accuracy=0.9128440366972477, verified="false")))
    assert record.accuracy == 0.9128  # the list is authoritative
    assert record.dataset == "glue/sst2" and record.task == "text-classification"


def test_verified_hub_evaluation_is_another_evaluation_not_a_contradiction() -> None:
    record = record_of(card(INDEX.format(accuracy=0.8912, verified="true")))
    assert record.accuracy == 0.9128 and record.metrics_source == "results list"


def test_a_metric_stated_twice_in_the_list_with_different_values_contradicts() -> None:
    results = "- Loss: 0.3011\n- Accuracy: 0.9128\n- eval_accuracy: 0.9200"
    assert reason_of(card(results=results)) == (
        "contradiction: accuracy is stated as 0.9128 and 0.9200 in the results list"
    )


def test_loss_and_eval_loss_agreeing_up_to_rounding_keep_the_precise_one() -> None:
    record = record_of(card(results="- Loss: 0.3011\n- eval_loss: 0.30108\n- Accuracy: 0.9128"))
    assert record.loss == 0.30108 and record.f1 is None


def test_list_without_f1_takes_f1_from_the_unverified_model_index() -> None:
    meta = INDEX.format(accuracy=0.9128, verified="false").replace(
        "      verified: false\n",
        "      verified: false\n    - name: F1\n      type: f1\n      value: 0.915\n",
    )
    record = record_of(card(meta, results="- Loss: 0.3011\n- Accuracy: 0.9128"))
    assert (record.accuracy, record.f1, record.loss) == (0.9128, 0.915, 0.3011)


def test_model_index_only_with_two_evaluations_that_disagree_is_ambiguous() -> None:
    first = INDEX.format(accuracy=0.91, verified="false")
    second = first.split("  results:\n")[1].replace("glue", "imdb").replace("0.91", "0.88")
    assert reason_of(card(first + second, results=None)) == (
        "ambiguous: accuracy is stated as 0.91 and 0.88 in the model-index"
    )


def test_model_index_on_the_train_split_only_states_no_evaluation() -> None:
    meta = INDEX.format(accuracy=0.99, verified="true").replace("validation", "train")
    assert reason_of(card(meta, results=None)) == (
        "missing field: no accuracy, f1 or loss in the evaluation results or model-index"
    )


@pytest.mark.parametrize(
    ("meta", "results", "hyper", "reason"),
    [
        (INDEX.format(accuracy=91.3, verified="false"), None, HYPER,
         "invalid value: accuracy is 91.3, not a fraction in [0, 1]"),
        (None, "- Loss: nan\n- Accuracy: 0.5", HYPER,
         "invalid value: loss is nan, not a finite number >= 0"),
        (None, RESULTS, HYPER.replace("train_batch_size: 16", "train_batch_size: 16.5"),
         "invalid value: train_batch_size is 16.5, not a whole number >= 1"),
        (None, RESULTS, HYPER.replace("2e-05", "auto"),
         "invalid value: learning_rate is 'auto', not a number"),
        (None, RESULTS, HYPER.replace("2e-05", "0"),
         "invalid value: learning_rate is 0, not a positive number"),
        (None, RESULTS, None, "missing field: no training hyperparameters list"),
        (None, RESULTS, HYPER.replace("- train_batch_size: 16\n", ""),
         "missing field: no train_batch_size in the training hyperparameters"),
        (None, "- Precision: 0.9\n- Recall: 0.9", HYPER,
         "missing field: no accuracy, f1 or loss in the evaluation results or model-index"),
        (None, RESULTS, HYPER + "\n- num_epochs: 5",
         "contradiction: num_epochs is stated as 3 and 5"),
        ("pipeline_tag: text-classification\n" + INDEX.format(accuracy=0.9128, verified="false")
         .replace("type: text-classification", "type: token-classification"), RESULTS, HYPER,
         "contradiction: the task is stated as text-classification and token-classification"),
        ("pipeline_tag: fill-mask\n", RESULTS, HYPER, "not sequence classification: the task is "
         "fill-mask"),
        ("a: [unclosed\n", RESULTS, HYPER, "unreadable: the YAML front matter is not valid YAML "
         "(line 3)"),
        ("- just\n- a list\n", RESULTS, HYPER,
         "unreadable: the YAML front matter is not a mapping of keys to values"),
    ],
)  # fmt: skip
def test_awkward_cards_are_skipped_with_their_reason(
    meta: str | None, results: str | None, hyper: str | None, reason: str
) -> None:
    assert reason_of(card(meta, results, hyper)) == reason


def test_whole_duplicates_and_synonyms_are_no_contradiction() -> None:
    hyper = HYPER + "\n- num_train_epochs: 3.0\n- learning_rate: 2.0e-5"
    record = record_of(card(hyper=hyper))
    assert (record.learning_rate, record.epochs) == (2e-05, 3)
    assert type(record.epochs) is int


@pytest.mark.parametrize(
    "text",
    [
        card(meta=None),  # no front matter at all
        card(meta=""),  # empty front matter
        "\n\n" + card().replace("\n", "\r\n"),  # blank lines first, CRLF
    ],
)
def test_front_matter_variants(text: str) -> None:
    record = record_of(text)
    assert (record.learning_rate, record.batch_size, record.epochs, record.seed) == (
        2e-05,
        16,
        3,
        42,
    )
    assert (record.accuracy, record.f1, record.loss, record.task) == (0.9128, 0.915, 0.3011, None)


def test_dot_terminated_front_matter_is_read() -> None:
    text = card(meta="pipeline_tag: text-classification\n").replace("---\n\n#", "...\n\n#", 1)
    assert split_front_matter(text)[0] == {"pipeline_tag": "text-classification"}
    assert record_of(text).task == "text-classification"


def test_hub_pipeline_tag_only_fills_in_for_a_card_without_a_task() -> None:
    assert record_of(card(), hub_task="text-classification").task == "text-classification"
    assert reason_of(card(), hub_task="token-classification") == (
        "not sequence classification: the task is token-classification"
    )
    declared = card(meta="pipeline_tag: text-classification\n")
    assert record_of(declared, hub_task="token-classification").task == "text-classification"


def test_base_check_uses_metadata_and_prose_and_accepts_legacy_ids() -> None:
    meta = "base_model: distilbert/distilbert-base-uncased-finetuned-sst-2-english\n"
    assert record_of(card(meta), base=BASE).model_id == "o/m"
    assert reason_of(card(), base=BASE) == f"other base: fine-tuned from x, not {BASE}"
    assert record_of(card()).model_id == "o/m"  # no base given: no check


@pytest.mark.parametrize(
    ("name", "metric"),
    [("Loss", "loss"), ("eval_loss", "loss"), ("Validation Loss", "loss"), ("Eval Accuracy",
     "accuracy"), ("eval_f1", "f1"), ("F1", "f1"), ("f1_score", "f1"), ("Train Loss", None),
     ("Precision", None), ("F1 Weighted", None), ("Epoch", None), ("eval_runtime", None)],
)  # fmt: skip
def test_metric_names(name: str, metric: str | None) -> None:
    assert metric_name(name) == metric


def test_numbers_and_their_rounding() -> None:
    assert parse_number("2e-05") == (2e-05, "2e-05")
    assert parse_number("{'f1': 0.9101}") == (0.9101, "0.9101")
    assert parse_number("More information needed") is None and parse_number(True) is None
    value, text = parse_number("nan") or (0.0, "")
    assert math.isnan(value) and text == "nan"
    a, b = Stated(0.91, "0.91", "x"), Stated(0.9128, "0.9128", "y")
    assert a.agrees(b, rounded=True) and not a.agrees(Stated(0.9161, "0.9161", "y"), rounded=True)
    assert not Stated(2e-05, "2e-05", "h").agrees(Stated(2.1e-05, "2.1e-05", "h"), rounded=False)
    assert Stated(1.25e-3, "1.25e-3", "x").half_unit == pytest.approx(5e-6)


def test_same_model() -> None:
    assert same_model("distilbert/" + BASE, BASE) and same_model(BASE, "Distilbert/" + BASE)
    assert not same_model("a/" + BASE, "b/" + BASE) and not same_model("a/x", "a/y")


# ---------------------------------------------------------------- a folder of cards


def test_card_files_read_both_layouts_and_ignore_the_rest(tmp_path: Path) -> None:
    (tmp_path / "a__m1.md").write_text("x")
    (tmp_path / "b__m2").mkdir()
    (tmp_path / "b__m2" / "README.md").write_text("x")
    (tmp_path / "legacy-name.md").write_text("x")
    (tmp_path / "README.md").write_text("about this folder")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "empty-dir").mkdir()
    assert sorted(card_files(tmp_path)) == ["a/m1", "b/m2", "legacy-name"]


def test_harvest_cards_coverage_and_baseline() -> None:
    harvest = harvest_cards(CARDS, base=BASE)
    assert (harvest.cards, harvest.usable, len(harvest.skipped)) == (11, 6, 5)
    assert harvest.baseline is not None
    assert harvest.baseline.model_id == "distilbert/" + BASE
    assert harvest.skipped_by_code() == {
        "not sequence classification": 1, "other base": 1, "missing field": 2, "contradiction": 1,
    }  # fmt: skip
    assert {s.model_id: s.reason for s in harvest.skipped} == {
        name.removesuffix(".md").replace("__", "/"): reason for name, reason in SKIPPED.items()
    }
    ids = [r.model_id for r in harvest.records]
    assert ids == [n.split("/")[0].removesuffix(".md").replace("__", "/") for n in sorted(USABLE)]
    payload = harvest.to_json()
    assert set(payload) == {"cards", "usable", "trials", "skipped"}
    assert set(payload["trials"][0]) == {
        "model_id", "learning_rate", "batch_size", "epochs", "accuracy", "f1", "loss",
    }  # fmt: skip
    assert set(payload["skipped"][0]) == {"model_id", "reason"}


def test_harvest_cards_without_base_has_no_baseline_and_keeps_other_bases() -> None:
    harvest = harvest_cards(CARDS)
    assert harvest.baseline is None and harvest.baseline_problem is None
    assert harvest.cards == 12  # the base's card is a card like any other
    assert "judy/bert-base-uncased-sst2" in {r.model_id for r in harvest.records}


def test_base_card_missing_from_the_folder_is_an_error(tmp_path: Path) -> None:
    shutil.copy(CARDS / "alice__distilbert-sst2-lr2e-5.md", tmp_path)
    with pytest.raises(DataError, match=f"--base {BASE}: no card for it"):
        harvest_cards(tmp_path, base=BASE)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no model cards in"):
        harvest_cards(tmp_path / "empty")
    with pytest.raises(DataError, match="is not a folder of model cards"):
        harvest_cards(tmp_path / "missing")


def test_base_card_without_metrics_gives_no_baseline_and_says_why(tmp_path: Path) -> None:
    shutil.copy(CARDS / "alice__distilbert-sst2-lr2e-5.md", tmp_path)
    (tmp_path / BASE_FILE).write_text("# DistilBERT base uncased finetuned SST-2\n\nA model.\n")
    harvest = harvest_cards(tmp_path, base=BASE)
    assert harvest.baseline is None and harvest.usable == 1
    assert harvest.baseline_problem == (
        "missing field: no accuracy, f1 or loss in the evaluation results or model-index"
    )


def test_two_different_cards_for_one_model_are_skipped(tmp_path: Path) -> None:
    text = fixture("alice__distilbert-sst2-lr2e-5.md")
    (tmp_path / "a__m.md").write_text(text)
    (tmp_path / "a__m").mkdir()
    (tmp_path / "a__m" / "README.md").write_text(text.replace("0.3011", "0.3111"))
    (tmp_path / "b__m.md").write_text(text)
    (tmp_path / "b__m").mkdir()
    (tmp_path / "b__m" / "README.md").write_text(text)
    harvest = harvest_cards(tmp_path)
    assert [s.reason for s in harvest.skipped] == [
        "duplicate card: a__m/README.md and a__m.md differ"
    ]
    assert [r.model_id for r in harvest.records] == ["b/m"]
