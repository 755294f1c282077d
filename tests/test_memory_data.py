"""kzoo.datasets.memory: in-memory data becomes the same Table a CSV file gives."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest

from kzoo.datasets.files import read_csv
from kzoo.datasets.memory import table_from_memory
from kzoo.datasets.table import Table
from kzoo.errors import CsvNote, DataError

ACCEPTED = ("(X, y) arrays, a dict of columns with target=, a pandas DataFrame with target=, a kzoo.datasets.Table, "
            "or a path to a .csv/.npz file or a data set name")


def penguins() -> dict[str, object]:
    return {
        "island": ["Torgersen", "Biscoe", None, "NA", " Dream "],
        "bill": [39.1, np.nan, 40.3, 36.7, 39.3],
        "flipper": np.array([181, 186, 195, 193, 190]),
        "species": ["Adelie", "Gentoo", "Adelie", "Chinstrap", "Gentoo"],
    }


# -- accepted forms ----------------------------------------------------------------------------

def test_a_table_is_returned_unchanged() -> None:
    table = Table(features=np.zeros((2, 1), "float32"), feature_names=["a"])
    assert table_from_memory(table) is table


def test_a_table_with_a_target_option_is_refused() -> None:
    table = Table(features=np.zeros((2, 1), "float32"), feature_names=["a"], target_name="y")
    with pytest.raises(DataError, match=r"target='z' does not apply to a Table.*pass target=None"):
        table_from_memory(table, target="z")


@pytest.mark.parametrize("pack", [tuple, list])
def test_x_y_arrays(pack) -> None:
    x = [[1, 2.5, np.nan], [4, 5, 6], [7, 8, 9]]
    table = table_from_memory(pack([x, [0, 1, 1]]))
    assert table.feature_names == ["x0", "x1", "x2"]
    assert table.features.dtype == np.float32 and table.features.shape == (3, 3)
    assert np.isnan(table.features[0, 2]) and table.features[0, 1] == 2.5
    assert table.target.dtype == np.int32 and table.target.tolist() == [0, 1, 1]
    assert table.target_name == "y" and table.class_names is None and table.source == "data"
    assert table.text == {}


def test_x_y_with_a_column_vector_target() -> None:
    table = table_from_memory((np.ones((3, 2)), np.array([[0.5], [1.5], [2.0]])))
    assert table.target.dtype == np.float32 and table.target.tolist() == [0.5, 1.5, 2.0]


def test_x_y_with_text_labels_gives_classes() -> None:
    table = table_from_memory((np.ones((3, 1)), np.array(["dog", "cat", "dog"])))
    assert table.class_names == ["cat", "dog"] and table.target.tolist() == [1, 0, 1]


def test_x_y_refuses_a_target_option() -> None:
    with pytest.raises(DataError, match=r"target='y' does not apply to \(X, y\) arrays"):
        table_from_memory((np.ones((2, 1)), [0, 1]), target="y")


def test_dict_of_columns() -> None:
    table = table_from_memory(penguins(), target="species")
    assert table.feature_names == ["bill", "flipper"]  # dict order of the numeric columns
    assert table.features.dtype == np.float32
    assert np.isnan(table.features[1, 0]) and table.features[:, 1].tolist() == [181, 186, 195, 193, 190]
    assert list(table.text) == ["island"]
    assert table.text["island"].tolist() == ["Torgersen", "Biscoe", "", "", "Dream"]
    assert table.text_where == {"island": "row 0 holds 'Torgersen'"}
    assert table.target_name == "species"
    assert table.class_names == ["Adelie", "Chinstrap", "Gentoo"]
    assert table.target.tolist() == [0, 2, 0, 1, 2]


def test_text_where_names_the_first_filled_row() -> None:
    table = table_from_memory({"a": [None, "", "x"], "y": [0, 1, 0]}, target="y")
    assert table.text_where["a"] == "row 2 holds 'x'"


def test_dict_looks_like_the_same_csv_file(tmp_path) -> None:
    path = tmp_path / "p.csv"
    rows = ["island,bill,flipper,species", "Torgersen,39.1,181,Adelie", "Biscoe,,186,Gentoo",
            ",40.3,195,Adelie", "NA,36.7,193,Chinstrap", "Dream,39.3,190,Gentoo"]
    path.write_text("\n".join(rows) + "\n")
    csv = read_csv(str(path), target=["species"])
    memory = table_from_memory(penguins(), target="species")
    assert memory.feature_names == csv.feature_names
    np.testing.assert_array_equal(memory.features, csv.features)
    assert memory.features.dtype == csv.features.dtype
    assert {k: v.tolist() for k, v in memory.text.items()} == {k: v.tolist() for k, v in csv.text.items()}
    assert memory.target.tolist() == csv.target.tolist() and memory.class_names == csv.class_names


def test_object_column_of_numbers_with_none_is_numeric() -> None:
    table = table_from_memory({"a": np.array([1, None, 3], dtype=object), "b": [True, False, True],
                               "y": [0, 1, 0]}, target="y")
    assert table.feature_names == ["a", "b"] and table.text == {}
    assert table.features[:, 1].tolist() == [1.0, 0.0, 1.0]
    assert np.isnan(table.features[1, 0]) and table.features[2, 0] == 3


def test_a_column_of_only_missing_cells_is_numeric_nan() -> None:
    table = table_from_memory({"a": [None, "NA"], "b": [1, 2], "y": [0, 1]}, target="y")
    assert table.feature_names == ["a", "b"] and np.isnan(table.features[:, 0]).all()


def test_non_string_column_names_become_strings() -> None:
    table = table_from_memory({0: [1.0, 2.0], 1: [0, 1]}, target="1")
    assert table.feature_names == ["0"] and table.target_name == "1"


# -- the target --------------------------------------------------------------------------------

@pytest.mark.parametrize("missing", [np.nan, None, "", "NA", " ? "])
def test_rows_without_a_target_are_left_out_with_a_note(missing) -> None:
    data = {"a": [1.0, 2.0, 3.0, 4.0], "t": ["p", "q", "r", "s"], "y": ["b", missing, "a", "b"]}
    with pytest.warns(CsvNote, match=r"^mine: left out 1 row\(s\) whose target 'y' is missing\.$"):
        table = table_from_memory(data, target="y", source="mine")
    assert table.features[:, 0].tolist() == [1.0, 3.0, 4.0]
    assert table.text["t"].tolist() == ["p", "r", "s"]
    assert table.class_names == ["a", "b"] and table.target.tolist() == [1, 0, 1]


def test_missing_numeric_targets_are_left_out() -> None:
    with pytest.warns(CsvNote, match="left out 2 row"):
        table = table_from_memory((np.arange(8.0).reshape(4, 2), [1.0, np.nan, 3.0, np.nan]))
    assert table.target.dtype == np.int32 and table.target.tolist() == [1, 3]
    assert table.features.tolist() == [[0.0, 1.0], [4.0, 5.0]]


def test_every_target_missing_is_an_error() -> None:
    with pytest.raises(DataError, match=r"every row's target 'y' is missing"):
        table_from_memory({"a": [1, 2], "y": [None, "NA"]}, target="y")


@pytest.mark.parametrize(("y", "dtype", "classes", "labels"), [
    ([0.0, 2.0, 1.0], np.int32, None, [0, 2, 1]),
    (np.array([3, 1, 2], dtype=np.uint8), np.int32, None, [3, 1, 2]),
    ([0.5, 2.0, 1.25], np.float32, None, [0.5, 2.0, 1.25]),
    (["10", "9", "x"], np.int32, ["9", "10", "x"], [1, 0, 2]),  # natural order
    ([True, False, True], np.int32, ["False", "True"], [1, 0, 1]),
    (np.array([True, None, False], dtype=object), np.int32, ["False", "True"], [1, 0]),
])
def test_target_typing(y, dtype, classes, labels) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = table_from_memory({"a": [1.0, 2.0, 3.0], "y": y}, target="y")
    notes = [w for w in caught if issubclass(w.category, CsvNote)]
    assert len(notes) == sum(v is None for v in y)  # only the None row is left out, with a note
    assert table.target.dtype == dtype
    assert table.class_names == classes
    assert table.target.tolist() == labels


# -- errors ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("data", "target", "message"), [
    ((np.ones((3, 2)), [0, 1]), None, r"X has 3 row\(s\) but y has 2 value\(s\)"),
    ({"a": [1, 2, 3], "b": [1, 2], "y": [0, 1, 0]}, "y", r"different lengths \('a' 3, 'b' 2, 'y' 3\)"),
    ((np.ones(3), [0, 1, 0]), None, r"X has shape \(3,\), expected a 2-D array"),
    ((np.ones((2, 2, 2)), [0, 1]), None, r"X has shape \(2, 2, 2\), expected a 2-D array"),
    ((np.ones((3, 2)), np.ones((3, 2))), None, r"y has shape \(3, 2\), expected one target per row"),
    ((np.ones((0, 2)), []), None, r"0 rows; expected at least one sample"),
    ({"a": [], "y": []}, "y", r"0 rows; expected at least one sample"),
    ((np.ones((2, 0)), [0, 1]), None, r"X has no columns"),
    ({"y": [0, 1]}, "y", r"no feature columns besides the target 'y'"),
    ({"a": np.ones((2, 2)), "y": [0, 1]}, "y", r"column 'a' has shape \(2, 2\), expected a 1-D column"),
    ({"a": [1, 2], "y": [0, 1]}, None, r"say which column is the target, e\.g\. target='y'; columns are a, y"),
    ({"a": [1, 2], "y": [0, 1]}, "z", r"no target column 'z'; columns are a, y"),
    ((np.array([[1, "x"]], dtype=object), [0]), None, r"X holds a value that is not a number \('x'\)"),
])
def test_errors_name_the_problem(data, target, message) -> None:
    with pytest.raises(DataError, match=message) as caught:
        table_from_memory(data, target=target, source="mine")
    text = str(caught.value)
    assert text.startswith("mine: ") and "\n" not in text


@pytest.mark.parametrize(("data", "named"), [
    ("iris.csv", "a str"),
    (3, "a int"),
    (None, "a NoneType"),
    (np.ones((3, 2)), "a bare numpy.ndarray of shape (3, 2)"),
    ((np.ones((3, 2)),), "a tuple of 1 item(s)"),
    ([1, 2, 3], "a list of 3 item(s)"),
])
def test_other_data_is_refused_with_what_is_accepted(data, named) -> None:
    with pytest.raises(DataError) as caught:
        table_from_memory(data)
    text = str(caught.value)
    assert f"cannot read {named}" in text
    assert text.endswith(f"expected {ACCEPTED}.")


# -- pandas (optional) -------------------------------------------------------------------------

def test_dataframe() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({
        "island": pd.Categorical(["Torgersen", None, "Biscoe", "Dream"]),
        "name": pd.array(["a", pd.NA, "c", "N/A"], dtype="string"),
        "count": pd.array([1, None, 3, 4], dtype="Int64"),
        "flag": pd.array([True, None, False, True], dtype="boolean"),
        "bill": [1.5, 2.5, np.nan, 4.0],
        7: [1, 2, 3, 4],
        "species": ["Adelie", "Gentoo", None, "Adelie"],
    }, index=[10, 11, 12, 13])
    with pytest.warns(CsvNote, match="left out 1 row"):
        table = table_from_memory(frame, target="species", source="frame")
    assert table.source == "frame" and table.target_name == "species"
    assert table.feature_names == ["count", "flag", "bill", "7"]
    assert table.features.dtype == np.float32 and table.features.shape == (3, 4)
    assert np.isnan(table.features[1, 0]) and np.isnan(table.features[1, 1])
    assert table.features[:, 2].tolist() == [1.5, 2.5, 4.0]
    assert table.text["island"].tolist() == ["Torgersen", "", "Dream"]
    assert table.text["name"].tolist() == ["a", "", ""]
    assert table.text_where == {"island": "row 0 holds 'Torgersen'", "name": "row 0 holds 'a'"}
    assert table.class_names == ["Adelie", "Gentoo"] and table.target.tolist() == [0, 1, 0]


def test_dataframe_needs_a_target() -> None:
    pd = pytest.importorskip("pandas")
    with pytest.raises(DataError, match=r"say which column is the target.*columns are a, b"):
        table_from_memory(pd.DataFrame({"a": [1, 2], "b": [0, 1]}))


def test_dataframe_with_duplicate_column_names_is_refused() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame([[1, 2, 0]], columns=["a", "a", "y"])
    with pytest.raises(DataError, match=r"column name\(s\) 'a' appear more than once"):
        table_from_memory(frame, target="y")


def test_duck_typed_frame_without_pandas() -> None:
    class Column:
        def __init__(self, values):
            self.values = values

        def to_numpy(self):
            return np.asarray(self.values)

    class Frame:
        columns = ("a", "y")

        def __getitem__(self, name):
            return Column({"a": [1.0, 2.0], "y": ["u", "v"]}[name])

    table = table_from_memory(Frame(), target="y")
    assert table.feature_names == ["a"] and table.class_names == ["u", "v"]


# -- imports -----------------------------------------------------------------------------------

def test_importing_the_module_does_not_import_keras() -> None:
    code = "import kzoo.datasets.memory, sys; assert 'keras' not in sys.modules, 'keras'; " \
           "assert 'tensorflow' not in sys.modules, 'tensorflow'; assert 'pandas' not in sys.modules, 'pandas'"
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
