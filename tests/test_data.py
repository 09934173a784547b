"""Tests for jaxinit.data: bundled datasets, user files, splits and every input error."""

import re
import sys

import numpy as np
import pytest

from jaxinit.data import Dataset, list_datasets, load_dataset

# name -> (rows, features, task, classes)
BUNDLED = {
    "digits": (1797, 64, "classification", 10),
    "iris": (150, 4, "classification", 3),
    "wine": (178, 13, "classification", 3),
    "breast_cancer": (569, 30, "classification", 2),
    "diabetes": (442, 10, "regression", None),
}


def _write_csv(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def _csv_rows(n, label):
    return "".join(f"{i},{(i * 7) % 5 - 2.5},{label(i)}\n" for i in range(n))


def test_list_datasets_names_and_descriptions():
    listing = list_datasets()
    assert list(listing) == list(BUNDLED)
    for description in listing.values():
        assert isinstance(description, str)
        assert description


@pytest.mark.parametrize("name", list(BUNDLED))
def test_bundled_dataset_shapes_and_task(name):
    rows, features, task, classes = BUNDLED[name]
    data = load_dataset(name)
    n_val = round(0.2 * rows)
    assert isinstance(data, Dataset)
    assert data.name == name
    assert data.task == task
    assert data.num_classes == classes
    assert data.x_train.shape == (rows - n_val, features)
    assert data.x_val.shape == (n_val, features)
    assert data.y_train.shape == (rows - n_val,)
    assert data.y_val.shape == (n_val,)
    assert data.x_train.dtype == np.float32
    assert data.x_val.dtype == np.float32
    assert len(data.feature_names) == features
    if task == "classification":
        assert data.y_train.dtype == np.int32
        assert len(data.class_names) == classes
        assert set(np.unique(data.y_train)) == set(range(classes))
        assert set(np.unique(data.y_val)) == set(range(classes))
    else:
        assert data.y_train.dtype == np.float32
        assert data.class_names == ()


@pytest.mark.parametrize("name", ["digits", "diabetes"])
def test_bundled_features_standardized_on_train(name):
    data = load_dataset(name)
    mean = data.x_train.mean(axis=0)
    std = data.x_train.std(axis=0)
    np.testing.assert_allclose(mean, 0.0, atol=1e-5)
    # Digits has pixels that are 0 in every training image: those columns stay 0.
    constant = std < 1e-6
    np.testing.assert_allclose(std[~constant], 1.0, rtol=1e-4)
    assert np.all(data.x_train[:, constant] == 0.0)
    assert np.all(np.isfinite(data.x_val))


def test_digits_constant_columns_exist():
    data = load_dataset("digits")
    assert np.sum(data.x_train.std(axis=0) < 1e-6) >= 1


def test_regression_target_standardized_with_scale():
    data = load_dataset("diabetes")
    np.testing.assert_allclose(data.y_train.mean(), 0.0, atol=1e-5)
    np.testing.assert_allclose(data.y_train.std(), 1.0, rtol=1e-5)
    raw = np.concatenate([data.y_train, data.y_val]) * data.target_scale + data.target_mean
    # scikit-learn's diabetes targets are integers between 25 and 346.
    np.testing.assert_allclose(raw, np.round(raw), atol=1e-3)
    assert raw.min() == pytest.approx(25.0, abs=1e-3)
    assert raw.max() == pytest.approx(346.0, abs=1e-3)


def test_split_reproducible_from_seed():
    first = load_dataset("iris", seed=3)
    second = load_dataset("iris", seed=3)
    np.testing.assert_array_equal(first.x_train, second.x_train)
    np.testing.assert_array_equal(first.y_val, second.y_val)


def test_split_differs_across_seeds():
    first = load_dataset("iris", seed=0)
    second = load_dataset("iris", seed=1)
    assert not np.array_equal(first.x_val, second.x_val)


def test_split_is_stratified():
    data = load_dataset("iris", val_fraction=0.2)
    np.testing.assert_array_equal(np.bincount(data.y_val), [10, 10, 10])
    np.testing.assert_array_equal(np.bincount(data.y_train), [40, 40, 40])


def test_split_val_fraction_sets_sizes():
    data = load_dataset("wine", val_fraction=0.5)
    assert len(data.y_val) == 89
    assert len(data.y_train) == 89


def test_npz_classification(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2, 3))
    y = np.repeat([7, 3], 20)
    path = tmp_path / "toy.npz"
    np.savez(path, x=x, y=y)
    data = load_dataset(path)
    assert data.name == "toy.npz"
    assert data.task == "classification"
    assert data.num_classes == 2
    assert data.class_names == ("3", "7")
    assert data.x_train.shape == (32, 6)
    assert data.feature_names == tuple(f"x{i}" for i in range(6))
    np.testing.assert_array_equal(np.bincount(data.y_val), [4, 4])


def test_npz_regression_and_label_key(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 3))
    path = tmp_path / "reg.npz"
    np.savez(path, x=x, price=rng.normal(loc=100.0, scale=20.0, size=50))
    data = load_dataset(path, target="price")
    assert data.task == "regression"
    assert data.num_classes is None
    assert data.y_train.dtype == np.float32
    np.testing.assert_allclose(data.y_train.mean(), 0.0, atol=1e-5)
    assert data.target_mean == pytest.approx(100.0, abs=6 * 20.0 / np.sqrt(40))


def test_npz_string_labels(tmp_path):
    x = np.arange(30, dtype=np.float64).reshape(10, 3)
    path = tmp_path / "str.npz"
    np.savez(path, x=x, y=np.array(["cat", "dog"] * 5))
    data = load_dataset(path)
    assert data.class_names == ("cat", "dog")
    assert data.num_classes == 2


def test_csv_string_target(tmp_path):
    body = _csv_rows(20, lambda i: ["setosa", "virginica"][i % 2])
    path = _write_csv(tmp_path / "flowers.csv", "length,width,species\n" + body)
    data = load_dataset(path, target="species")
    assert data.task == "classification"
    assert data.class_names == ("setosa", "virginica")
    assert data.feature_names == ("length", "width")
    assert data.x_train.shape == (16, 2)
    np.testing.assert_allclose(data.x_train.mean(axis=0), 0.0, atol=1e-6)


def test_csv_target_column_in_middle(tmp_path):
    rows = "".join(f"{i},{i % 3},{i * 0.5}\n" for i in range(30))
    path = _write_csv(tmp_path / "mid.csv", "a,label,b\n" + rows)
    data = load_dataset(path, target="label")
    assert data.feature_names == ("a", "b")
    assert data.num_classes == 3


def test_csv_constant_feature_becomes_zero(tmp_path):
    rows = "".join(f"{i},5.0,{i % 2}\n" for i in range(20))
    path = _write_csv(tmp_path / "const.csv", "a,const,y\n" + rows)
    data = load_dataset(path, target="y")
    assert np.all(data.x_train[:, 1] == 0.0)
    assert np.all(data.x_val[:, 1] == 0.0)


def test_csv_auto_task_regression_for_floats(tmp_path):
    body = _csv_rows(20, lambda i: i * 0.37)
    path = _write_csv(tmp_path / "reg.csv", "a,b,y\n" + body)
    assert load_dataset(path, target="y").task == "regression"


def test_csv_auto_task_regression_for_many_integers(tmp_path):
    body = _csv_rows(120, lambda i: i % 60)
    path = _write_csv(tmp_path / "many.csv", "a,b,y\n" + body)
    assert load_dataset(path, target="y").task == "regression"
    assert load_dataset(path, target="y", task="classification").num_classes == 60


def test_csv_task_regression_forced_on_integers(tmp_path):
    body = _csv_rows(20, lambda i: i % 2)
    path = _write_csv(tmp_path / "bin.csv", "a,b,y\n" + body)
    assert load_dataset(path, target="y").task == "classification"
    assert load_dataset(path, target="y", task="regression").task == "regression"


def _error(pattern_text):
    return re.escape(pattern_text)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task": "cluster"}, "load_dataset got task='cluster'; expected one of"),
        ({"seed": -1}, "load_dataset got seed=-1; expected a non-negative integer."),
        ({"val_fraction": 1.0}, "load_dataset got val_fraction=1.0; expected a number"),
        ({"val_fraction": 0}, "load_dataset got val_fraction=0; expected a number"),
        ({"target": "x"}, "Dataset 'iris' is bundled and has a fixed target"),
        ({"task": "regression"}, "Dataset 'iris' is a classification dataset"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=_error(message)):
        load_dataset("iris", **kwargs)


def test_bad_name_type():
    with pytest.raises(TypeError, match=_error("got int.")):
        load_dataset(3)


def test_unknown_name():
    with pytest.raises(ValueError, match=_error("Unknown dataset 'mnist': expected a bundled")):
        load_dataset("mnist")


def test_missing_file(tmp_path):
    path = tmp_path / "absent.csv"
    with pytest.raises(ValueError, match=_error(f"Dataset file {str(path)!r} was not found.")):
        load_dataset(path, target="y")


def _bad_csv_cases():
    good_rows = _csv_rows(10, lambda i: i % 2)
    return [
        ("empty.csv", "", {"target": "y"}, "is empty; expected a header row and data."),
        ("header.csv", "a,b,y\n", {"target": "y"}, "has a header but no data rows."),
        ("target.csv", "a,b,y\n" + good_rows, {}, "so the target column must be named"),
        (
            "unknown.csv",
            "a,b,y\n" + good_rows,
            {"target": "label"},
            "has no column named 'label'; its columns are ['a', 'b', 'y'].",
        ),
        (
            "duplicate.csv",
            "a,a,y\n" + good_rows,
            {"target": "y"},
            "has two columns named 'a'.",
        ),
        (
            "ragged.csv",
            "a,b,y\n1,2,0\n3,0\n",
            {"target": "y"},
            "line 3 has 2 fields but the header has 3.",
        ),
        (
            "text.csv",
            "a,b,y\n1,2,0\n3,red,1\n",
            {"target": "y"},
            "line 3 has the non-numeric value 'red' in feature column 'b'",
        ),
        (
            "nan.csv",
            "a,b,y\n" + good_rows + "1,nan,0\n",
            {"target": "y"},
            "contains a NaN or infinite feature value (data row 11, feature 'b')",
        ),
        (
            "inf.csv",
            "a,b,y\n" + good_rows + "1,2,inf\n",
            {"target": "y"},
            "contains a NaN or infinite target value (data row 11)",
        ),
        (
            "blank.csv",
            "a,b,y\n" + good_rows + "1,2, \n",
            {"target": "y"},
            "line 12 has an empty value in the target column 'y'.",
        ),
        (
            "onlytarget.csv",
            "y\n0\n1\n0\n1\n",
            {"target": "y"},
            "has no feature columns besides the target.",
        ),
        (
            "oneclass.csv",
            "a,b,y\n" + _csv_rows(10, lambda i: "spam"),
            {"target": "y"},
            "has a single class ('spam') in its target; classification needs at least two.",
        ),
        (
            "tiny.csv",
            "a,y\n1,0\n2,1\n",
            {"target": "y"},
            "has 2 rows, too few for a train/validation split",
        ),
        (
            "textreg.csv",
            "a,b,y\n" + _csv_rows(10, lambda i: "ab"[i % 2]),
            {"target": "y", "task": "regression"},
            "has a non-numeric target, which task='regression' cannot use",
        ),
        (
            "floatcls.csv",
            "a,b,y\n" + _csv_rows(10, lambda i: i * 0.5),
            {"target": "y", "task": "classification"},
            "has a target with non-integer numbers, which task='classification' cannot use",
        ),
        (
            "manytext.csv",
            "a,b,y\n" + _csv_rows(60, lambda i: f"c{i}"),
            {"target": "y"},
            "has a text target with 60 distinct values, more than the 50",
        ),
    ]


@pytest.mark.parametrize(("file_name", "text", "kwargs", "message"), _bad_csv_cases())
def test_bad_csv(tmp_path, file_name, text, kwargs, message):
    path = _write_csv(tmp_path / file_name, text)
    prefix = "Dataset " if file_name == "tiny.csv" else "Dataset file "
    name = file_name if file_name == "tiny.csv" else str(path)
    with pytest.raises(ValueError, match=_error(f"{prefix}{name!r} ") + ".*" + _error(message)):
        load_dataset(path, **kwargs)


def test_csv_bad_encoding(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(b"a,y\n\xff\xfe,1\n")
    with pytest.raises(ValueError, match=_error(f"{str(path)!r} is not a readable CSV file")):
        load_dataset(path, target="y")


def test_npz_not_an_archive(tmp_path):
    path = tmp_path / "broken.npz"
    path.write_bytes(b"this is not a zip archive")
    with pytest.raises(ValueError, match=_error(f"{str(path)!r} is not a readable .npz archive")):
        load_dataset(path)


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"x": np.zeros((4, 2))}, "has no array named 'y'; it contains ['x']"),
        ({"y": np.zeros(4)}, "has no array named 'x'; it contains ['y']"),
        (
            {"x": np.zeros((5, 2)), "y": np.zeros(4)},
            "has 5 rows of x but 4 labels in 'y'; they must have the same length.",
        ),
        ({"x": np.zeros(5), "y": np.zeros(5)}, "has x of shape (5,); expected shape"),
        ({"x": np.zeros((5, 2)), "y": np.zeros((5, 2))}, "has y of shape (5, 2); expected a"),
        (
            {"x": np.array([["a", "b"]] * 5), "y": np.arange(5)},
            "has x of dtype <U1; features must be numeric.",
        ),
        (
            {"x": np.array([[1.0, np.inf]] * 5), "y": np.arange(5) % 2},
            "contains a NaN or infinite feature value (data row 1, feature 'x1')",
        ),
        (
            {"x": np.zeros((6, 2)), "y": np.array([0.0, 1.0, np.nan, 0.0, 1.0, 0.0])},
            "contains a NaN or infinite target value (data row 3)",
        ),
    ],
)
def test_bad_npz(tmp_path, arrays, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(
        ValueError, match=_error(f"Dataset file {str(path)!r} ") + ".*" + _error(message)
    ):
        load_dataset(path)


def test_npz_object_array_rejected(tmp_path):
    path = tmp_path / "object.npz"
    np.savez(path, x=np.zeros((4, 2)), y=np.array([{"a": 1}] * 4, dtype=object))
    with pytest.raises(ValueError, match=_error(f"{str(path)!r} could not be read without pickle")):
        load_dataset(path)


def test_dataset_repr():
    data = load_dataset("iris")
    assert repr(data) == (
        "Dataset(name='iris', task='classification', train=(120, 4), val=(30, 4), num_classes=3)"
    )


def test_bundled_without_scikit_learn(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    message = "install it with: pip install 'jaxinit[compare]'"
    with pytest.raises(ImportError, match=re.escape(message)):
        load_dataset("iris")


def test_user_file_without_scikit_learn(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    path = _write_csv(tmp_path / "own.csv", "a,b,y\n" + _csv_rows(10, lambda i: i % 2))
    assert load_dataset(path, target="y").num_classes == 2
