"""Learning-curve and cost columns of benchmark tables: a trial's curve as `NAME@K` columns, the
reader keeping and checking them, `train_seconds` falling back on `wall_time_s`, and the writer
keeping them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from advisor.errors import DataError
from advisor.table import curve_columns, read_table, train_seconds_column, write_table

CURVE = [
    {"epoch": 1, "step": 38, "accuracy": 0.7, "f1": 0.6, "loss": 0.55, "train_seconds": 30.0},
    {"epoch": 2, "step": 76, "accuracy": 0.8, "f1": 0.75, "loss": 0.45, "train_seconds": 61.5},
]

HEADER = "learning_rate,batch_size,epochs,accuracy,f1,loss,wall_time_s,train_seconds"
CURVE_HEADER = "accuracy@1,f1@1,loss@1,train_seconds@1,accuracy@2,f1@2,loss@2,train_seconds@2"
GOOD = [
    "1e-4,16,2,0.8,0.75,0.45,70,61.5,0.7,0.6,0.55,30,0.8,0.75,0.45,61.5",
    "5e-5,16,1,0.6,0.5,0.65,40,,0.6,0.5,0.65,31,,,,",  # one epoch; no train_seconds cell
]


def _csv(tmp_path: Path, header: str, lines: list[str], name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def test_curve_columns_name_each_value_by_its_epoch() -> None:
    assert curve_columns(CURVE) == {
        "accuracy@1": 0.7,
        "f1@1": 0.6,
        "loss@1": 0.55,
        "train_seconds@1": 30.0,
        "accuracy@2": 0.8,
        "f1@2": 0.75,
        "loss@2": 0.45,
        "train_seconds@2": 61.5,
    }


def test_fractional_step_points_have_no_columns() -> None:
    steps = [
        {"epoch": 0.5, "accuracy": 0.6, "f1": 0.5, "loss": 0.7, "train_seconds": 10.0},
        {"epoch": 1.0, "accuracy": 0.7, "f1": 0.6, "loss": 0.6, "train_seconds": 20.0},
    ]
    assert curve_columns(steps) == {
        "accuracy@1": 0.7,
        "f1@1": 0.6,
        "loss@1": 0.6,
        "train_seconds@1": 20.0,
    }
    assert curve_columns([]) == {}


def test_the_reader_keeps_curve_and_cost_columns(tmp_path: Path) -> None:
    table = read_table(_csv(tmp_path, f"{HEADER},{CURVE_HEADER}", GOOD))
    rows = table.rows
    assert rows["train_seconds@2"].tolist()[0] == 61.5 and pd.isna(rows["loss@2"][1])
    assert train_seconds_column(rows).tolist() == [61.5, 40.0]  # the empty cell: wall time


def test_train_seconds_falls_back_on_wall_time_and_else_is_none(tmp_path: Path) -> None:
    wall_only = read_table(
        _csv(
            tmp_path,
            "learning_rate,batch_size,epochs,accuracy,f1,loss,wall_time_s",
            ["1e-4,16,2,0.8,0.7,0.4,12.5"],
        )
    )
    assert train_seconds_column(wall_only.rows).tolist() == [12.5]
    bare = read_table(
        _csv(
            tmp_path,
            "learning_rate,batch_size,epochs,accuracy,f1,loss",
            ["1e-4,16,2,0.8,0.7,0.4"],
            "bare.csv",
        )
    )
    assert train_seconds_column(bare.rows) is None


def test_the_writer_keeps_the_columns_in_epoch_order(tmp_path: Path) -> None:
    table = read_table(_csv(tmp_path, f"{HEADER},{CURVE_HEADER}", GOOD))
    out = tmp_path / "out.csv"
    write_table(table, out)
    header = out.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header[-8:] == CURVE_HEADER.split(",")
    again = read_table(out).rows
    pd.testing.assert_frame_equal(
        again[CURVE_HEADER.split(",")], table.rows[CURVE_HEADER.split(",")]
    )


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("accuracy@0", "0.7", "K in accuracy@K must be a whole number >= 1"),
        ("loss@1.5", "0.5", "whole number >= 1"),
        ("f1@01", "0.5", "whole number >= 1"),
        ("train_seconds@2", "-3", "train_seconds@2 must be a finite number >= 0; line 2"),
        ("train_seconds@2", "inf", "train_seconds@2 must be a finite number >= 0"),
        ("loss@2", "fast", "column 'loss@2' has non-numeric values"),
        ("accuracy@3", "0.7", "accuracy@3 is a value after epoch 3, past the run's epochs"),
        ("train_seconds@2", "20", r"train_seconds@2 is below train_seconds@1; line 2 \(20\)"),
    ],
)
def test_bad_curve_columns_are_rejected(
    tmp_path: Path, column: str, value: str, message: str
) -> None:
    header = f"{HEADER},train_seconds@1,{column}"
    with pytest.raises(DataError, match=message):
        read_table(_csv(tmp_path, header, [f"1e-4,16,2,0.8,0.75,0.45,70,61.5,30,{value}"]))


def test_a_negative_train_seconds_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="train_seconds must be a finite number >= 0; line 2"):
        read_table(_csv(tmp_path, HEADER, ["1e-4,16,2,0.8,0.75,0.45,70,-1"]))


def test_other_at_columns_are_left_alone(tmp_path: Path) -> None:
    table = read_table(_csv(tmp_path, f"{HEADER},top5@x", ["1e-4,16,2,0.8,0.75,0.45,70,61.5,9"]))
    assert "top5@x" not in table.rows.columns
