import gzip
import hashlib
import struct

import numpy as np
import pytest

from dnncomp.inputs import data


def write_idx(path, array):
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.astype(np.uint8).tobytes())


def arrays(n_train=100, n_test=40, classes=10, shape=(6, 6)):
    rng = np.random.default_rng(0)
    return {
        "x_train": rng.integers(0, 256, (n_train, *shape), dtype=np.uint8),
        "y_train": np.arange(n_train, dtype=np.uint8) % classes,
        "x_test": rng.integers(0, 256, (n_test, *shape), dtype=np.uint8),
        "y_test": np.arange(n_test, dtype=np.uint8) % classes,
    }


def test_idx_folder_round_trip(tmp_path):
    raw = arrays()
    for key, name in data.IDX_FILES.items():
        write_idx(tmp_path / name, raw[key])
    loaded = data.read_idx_dir(tmp_path)
    for key in raw:
        np.testing.assert_array_equal(loaded[key], raw[key])


def test_idx_folder_missing_file_is_named(tmp_path):
    with pytest.raises(data.DataError, match="train-images-idx3-ubyte.gz"):
        data.read_idx_dir(tmp_path)


def test_idx_bad_magic(tmp_path):
    path = tmp_path / "x.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(b"\x01\x02\x03\x04")
    with pytest.raises(data.DataError, match="bad magic"):
        data.read_idx(path)


def test_validation_adds_channel_axis_and_flattens_labels():
    raw = arrays()
    raw["y_train"] = raw["y_train"].reshape(-1, 1)
    out = data.validate_arrays("toy", raw, 10)
    assert out["x_train"].shape == (100, 6, 6, 1)
    assert out["y_train"].shape == (100,)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda a: a.update(x_train=a["x_train"].astype(np.float32)), "dtype float32, expected uint8"),
        (lambda a: a.update(y_test=a["y_test"] + 5), "labels 5..14, expected 0..9"),
        (lambda a: a.update(y_train=a["y_train"][:-1]), r"y_train has shape \(99,\)"),
        (lambda a: a.update(x_test=a["x_test"][:, :5]), "differ"),
        (lambda a: a.update(y_train=a["y_train"] % 3), "cover 3 classes"),
    ],
)
def test_validation_errors_name_the_problem(change, message):
    raw = arrays()
    change(raw)
    with pytest.raises(data.DataError, match=message):
        data.validate_arrays("toy", raw, 10)


def test_split_carves_validation_from_train_only():
    raw = data.validate_arrays("toy", arrays(), 10)
    out = data.split_and_subset(raw, 0.2, seed=0)
    assert len(out["x_val"]) == 20 and len(out["x_train"]) == 80
    np.testing.assert_array_equal(out["x_test"], raw["x_test"])
    train_rows = {r.tobytes() for r in out["x_train"]}
    assert not any(r.tobytes() in train_rows for r in out["x_val"])


def test_split_is_deterministic():
    raw = data.validate_arrays("toy", arrays(), 10)
    a, b = data.split_and_subset(raw, 0.1, seed=7), data.split_and_subset(raw, 0.1, seed=7)
    np.testing.assert_array_equal(a["x_val"], b["x_val"])


def test_download_verifies_checksum_and_leaves_nothing_behind(tmp_path):
    source = tmp_path / "src.bin"
    source.write_bytes(b"payload")
    good = hashlib.sha256(b"payload").hexdigest()
    dest = tmp_path / "out" / "file.bin"
    with pytest.raises(data.DataError, match="checksum mismatch"):
        data.download(source.as_uri(), "0" * 64, dest)
    assert not dest.exists() and list(dest.parent.iterdir()) == []
    data.download(source.as_uri(), good, dest)
    assert dest.read_bytes() == b"payload"


def test_offline_error_says_which_file_to_put_where(tmp_path):
    spec = {"source": "download", "url": (tmp_path / "missing.npz").as_uri(), "sha256": "0" * 64}
    with pytest.raises(data.DataError, match=r"put toy.npz .* into .*data_dir"):
        data.resolve_source("toy", spec, str(tmp_path / "data_dir"), tmp_path / "dl")


def test_auto_source_prefers_local_copy(tmp_path):
    raw = arrays()
    np.savez_compressed(tmp_path / "toy.npz", **raw)
    loaded = data.resolve_source("toy", {"source": "auto"}, str(tmp_path), tmp_path / "dl")
    np.testing.assert_array_equal(loaded["x_train"], raw["x_train"])


def test_npz_missing_arrays_named(tmp_path):
    np.savez(tmp_path / "bad.npz", x_train=np.zeros((2, 2), np.uint8))
    with pytest.raises(data.DataError, match="lacks arrays"):
        data.read_npz(tmp_path / "bad.npz")


def test_prepare_real_mnist_copy(data_dir, tmp_path):
    spec = {"source": "auto", "num_classes": 10, "validation_fraction": 0.1, "subset": {"train": 900, "test": 200}}
    out = data.prepare("mnist", spec, str(data_dir), tmp_path, seed=0)
    data.save(out, tmp_path / "mnist.npz", 10)
    ds = data.load(tmp_path / "mnist.npz")
    assert ds.input_shape == (28, 28, 1)
    assert (len(ds.x_train), len(ds.x_val), len(ds.x_test)) == (900, 100, 200)
    assert ds.x_train.dtype == np.uint8


@pytest.mark.parametrize("damage", [lambda b: b[: len(b) // 2], lambda b: b"not a zip at all" + b[16:]])
def test_truncated_or_corrupt_npz_names_the_file(tmp_path, damage):
    good = tmp_path / "good.npz"
    np.savez_compressed(good, **arrays())
    bad = tmp_path / "mnist.npz"
    bad.write_bytes(damage(good.read_bytes()))
    with pytest.raises(data.DataError, match=r"mnist.npz is not a valid .npz archive"):
        data.read_npz(bad)


def test_missing_data_dir_is_an_error_not_a_download(tmp_path):
    with pytest.raises(data.DataError, match=r"data_dir: folder .*nowhere does not exist"):
        data.resolve_source("mnist", {"source": "auto"}, str(tmp_path / "nowhere"), tmp_path / "dl")


def test_data_dir_without_the_dataset_says_what_to_put_there(tmp_path):
    with pytest.raises(data.DataError, match=r"holds no copy of mnist.*put mnist.npz"):
        data.resolve_source("mnist", {"source": "auto"}, str(tmp_path), tmp_path / "dl")


def test_cifar_offline_hint_does_not_suggest_idx_files(tmp_path):
    assert "IDX" not in data.offline_hint("cifar10", str(tmp_path))
    assert "IDX" in data.offline_hint("mnist", str(tmp_path))


def test_committed_subset_is_the_start_of_the_full_mnist_copy(data_dir, full_data_dir):
    """tests/data/mnist.npz is the first 2,000 training and 500 test images of the full copy."""
    subset, full = data.read_npz(data_dir / "mnist.npz"), data.read_npz(full_data_dir / "mnist.npz")
    for key in subset:
        np.testing.assert_array_equal(subset[key], full[key][: len(subset[key])])
