"""Datasets: fetch from a configured source, validate, split, and cache in one standard form.

The cache is an .npz with uint8 images shaped (N, H, W, C) and uint8 labels shaped (N,), split into
train / val / test. The validation split is carved from the training set; the test set is only
read for final metrics. Images stay uint8: the models rescale inside, which halves peak memory.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import struct
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.errors import UserError
from ..core.io import atomic_path
from . import image_folder


class DataError(UserError):
    """A dataset source is missing or malformed; the message says what and where."""


# Canonical downloads (the ones keras.datasets uses), with their sha256.
CANONICAL = {
    "mnist": {
        "url": "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
        "sha256": "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
        "format": "npz",
    },
    "cifar10": {
        "url": "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        "sha256": "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
        "format": "cifar-python",
    },
}

IDX_FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}

SPLITS = ("train", "val", "test")


@dataclass
class Dataset:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    class_names: list | None = None  # folder sources: the class folders' names, label 0 first

    @property
    def input_shape(self) -> tuple:
        return tuple(self.x_train.shape[1:])

    def split(self, name: str) -> tuple:
        if name not in SPLITS:
            raise ValueError(f"unknown split '{name}' (known: {', '.join(SPLITS)})")
        return getattr(self, f"x_{name}"), getattr(self, f"y_{name}")


# ----------------------------------------------------------------------------- sources


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download(url: str, sha256: str, dest: Path, timeout: float = 60.0) -> Path:
    """Download url to dest, verify its checksum, and only then move it into place."""
    dest = Path(dest)
    if dest.exists() and sha256_of(dest) == sha256:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=dest.name + ".", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            for block in iter(lambda: response.read(1 << 20), b""):
                out.write(block)
        actual = sha256_of(Path(tmp))
        if actual != sha256:
            raise DataError(f"checksum mismatch for {url}: expected sha256 {sha256}, got {actual}")
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return dest


def read_npz(path: Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"local dataset file {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [key for key in IDX_FILES if key not in data.files]
            if missing:
                raise DataError(
                    f"{path} lacks arrays {missing}; keras.datasets layout needs x_train, y_train, x_test, y_test"
                )
            return {key: data[key] for key in IDX_FILES}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise DataError(f"{path} is not a valid .npz archive (truncated or corrupt?): {err}") from err


def read_idx(path: Path) -> np.ndarray:
    """One IDX file (optionally gzipped): magic 0x00 0x00 dtype ndim, then big-endian dims."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as handle:
        raw = handle.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{path} is not an unsigned-byte IDX file (bad magic number)")
    ndim = raw[3]
    dims = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    body = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise DataError(f"{path}: header says shape {dims} but holds {body.size} bytes")
    return body.reshape(dims)


def check_idx_dir(directory: Path) -> None:
    if not directory.is_dir():
        raise DataError(f"folder {directory} does not exist")
    missing = [name for name in IDX_FILES.values() if not (directory / name).is_file()]
    if missing:
        raise DataError(f"IDX dataset folder {directory} lacks {', '.join(missing)}")


def read_idx_dir(directory: Path) -> dict:
    directory = Path(directory)
    check_idx_dir(directory)
    return {key: read_idx(directory / name) for key, name in IDX_FILES.items()}


def read_cifar_python(archive: Path) -> dict:
    """The canonical CIFAR-10 python tarball, as keras.datasets.cifar10 reads it."""

    def batch(tar, name):
        member = next(m for m in tar.getmembers() if m.name.endswith(name))
        data = pickle.load(tar.extractfile(member), encoding="bytes")
        x = data[b"data"].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        return x, np.asarray(data[b"labels"], dtype=np.uint8)

    with tarfile.open(archive, "r:gz") as tar:
        parts = [batch(tar, f"data_batch_{i}") for i in range(1, 6)]
        x_test, y_test = batch(tar, "test_batch")
    return {
        "x_train": np.concatenate([p[0] for p in parts]),
        "y_train": np.concatenate([p[1] for p in parts]),
        "x_test": x_test,
        "y_test": y_test,
    }


def resolve_source(name: str, spec: dict, data_dir: str | None, download_dir: Path) -> dict:
    """Read the raw arrays of one dataset from the source its config names."""
    source = spec.get("source", "auto")
    if source == "npz":
        return read_npz(Path(spec["path"]))
    if source == "idx":
        return read_idx_dir(Path(spec["path"]))
    if source == "folder":
        return image_folder.read(Path(spec["path"]), spec["image_size"], spec["channels"])
    if source == "auto" and data_dir:
        copy = local_copy(name, data_dir)
        return read_npz(copy) if copy.suffix == ".npz" else read_idx_dir(copy)
    if source in ("auto", "download"):
        return fetch_canonical(name, spec, data_dir, download_dir)
    raise DataError(f"datasets.{name}.source: unknown source '{source}' (auto, download, npz, idx, folder)")


def local_copy(name: str, data_dir: str) -> Path:
    """DATASET.npz or the DATASET/ folder of IDX files in data_dir. A data_dir means "use my local
    copies": a missing one is an error, never a silent download."""
    folder = Path(data_dir)
    if not folder.is_dir():
        raise DataError(f"data_dir: folder {folder} does not exist")
    npz, idx = folder / f"{name}.npz", folder / name
    if npz.is_file():
        return npz
    if idx.is_dir():
        return idx
    raise DataError(
        f"data_dir {folder} holds no copy of {name}. {offline_hint(name, data_dir)}; "
        f"or set datasets.{name}.source: download to fetch it"
    )


def check_npz_file(path: Path) -> None:
    """A readable .npz archive with the four keras.datasets arrays, checked without loading them."""
    if not path.is_file():
        raise DataError(f"file {path} does not exist" if not path.exists() else f"{path} is not a file")
    try:
        with zipfile.ZipFile(path) as archive:
            names = {Path(member).stem for member in archive.namelist()}
    except PermissionError:
        raise DataError(f"file {path} is not readable (permission denied)") from None
    except (OSError, zipfile.BadZipFile) as err:
        raise DataError(f"{path} is not a valid .npz archive (truncated or corrupt?): {err}") from None
    missing = [key for key in IDX_FILES if key not in names]
    if missing:
        raise DataError(f"{path} lacks arrays {missing}; keras.datasets layout needs x_train, y_train, x_test, y_test")


def check_source(name: str, spec: dict, data_dir: str | None) -> None:
    """What can be known of a dataset's source before any job runs: its file or folder exists, is
    readable and has the layout its source needs. Reading and validating the arrays is prepare()'s."""
    source = spec.get("source", "auto")
    if source in ("npz", "idx"):
        check = check_npz_file if source == "npz" else check_idx_dir
        try:
            check(Path(spec["path"]))
        except DataError as err:
            raise DataError(f"datasets.{name}.path: {err}") from None
    elif source == "folder":
        try:
            classes = image_folder.class_names(Path(spec["path"]))
        except image_folder.FolderError as err:
            raise DataError(f"datasets.{name}.path: {err}") from None
        if len(classes) != spec.get("num_classes", len(classes)):
            raise DataError(
                f"datasets.{name}.num_classes: {spec['num_classes']}, but {spec['path']}/train has "
                f"{len(classes)} class folders ({', '.join(classes)})"
            )
    elif source == "auto" and data_dir:
        copy = local_copy(name, data_dir)
        (check_npz_file if copy.suffix == ".npz" else check_idx_dir)(copy)


def offline_hint(name: str, data_dir: str | None) -> str:
    """How to run without the internet: an .npz in keras.datasets layout, or (MNIST-format data only)
    the four IDX files."""
    where = Path(data_dir) if data_dir else Path("DIR")
    idx = f", or the four MNIST-format IDX .gz files in {where / name}/," if name != "cifar10" else ""
    return (
        f"To run offline, put {name}.npz (keras.datasets layout){idx} into {where}/ and run with "
        f"--config data_dir={where}"
    )


def fetch_canonical(name: str, spec: dict, data_dir: str | None, download_dir: Path) -> dict:
    canonical = spec.get("url") and {"url": spec["url"], "sha256": spec["sha256"], "format": spec.get("format", "npz")}
    canonical = canonical or CANONICAL.get(name)
    if canonical is None:
        raise DataError(
            f"datasets.{name}: no canonical download is known for '{name}'; set source: npz or idx with a path"
        )
    dest = Path(download_dir) / Path(canonical["url"]).name
    try:
        download(canonical["url"], canonical["sha256"], dest)
    except (OSError, urllib.error.URLError) as err:
        raise DataError(
            f"could not download {name} from {canonical['url']} ({err}). {offline_hint(name, data_dir)}"
        ) from err
    return read_npz(dest) if canonical["format"] == "npz" else read_cifar_python(dest)


# ----------------------------------------------------------------------------- validation


def validate_arrays(name: str, arrays: dict, num_classes: int) -> dict:
    """Check shapes, dtypes and labels; return images as (N, H, W, C) uint8 and labels as (N,) uint8."""
    out = {"class_names": arrays["class_names"]} if "class_names" in arrays else {}
    for split in ("train", "test", "val"):
        if split == "val" and "x_val" not in arrays:
            continue
        x, y = np.asarray(arrays[f"x_{split}"]), np.asarray(arrays[f"y_{split}"])
        if x.dtype != np.uint8:
            raise DataError(f"{name}: x_{split} has dtype {x.dtype}, expected uint8 pixels")
        if x.ndim == 3:
            x = x[..., None]
        if x.ndim != 4:
            raise DataError(f"{name}: x_{split} has shape {x.shape}, expected (N, H, W) or (N, H, W, C)")
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1 or len(y) != len(x):
            raise DataError(f"{name}: y_{split} has shape {y.shape}, expected ({len(x)},) to match x_{split}")
        if not np.issubdtype(y.dtype, np.integer):
            raise DataError(f"{name}: y_{split} has dtype {y.dtype}, expected integer class labels")
        if len(y) and (y.min() < 0 or y.max() >= num_classes):
            raise DataError(f"{name}: y_{split} holds labels {y.min()}..{y.max()}, expected 0..{num_classes - 1}")
        out[f"x_{split}"], out[f"y_{split}"] = x, y.astype(np.uint8)
    if out["x_train"].shape[1:] != out["x_test"].shape[1:]:
        raise DataError(
            f"{name}: train images {out['x_train'].shape[1:]} and test images {out['x_test'].shape[1:]} differ"
        )
    present = np.unique(out["y_train"])
    if len(present) != num_classes:
        raise DataError(f"{name}: training labels cover {len(present)} classes, config says num_classes={num_classes}")
    return out


def split_and_subset(arrays: dict, validation_fraction: float, seed: int, subset: dict | None = None) -> dict:
    """Carve a validation split from train (never test), unless the source has its own, and optionally
    keep a stratified-free random subset."""
    rng = np.random.default_rng(seed)
    x, y = arrays["x_train"], arrays["y_train"]
    order = rng.permutation(len(x))
    subset = subset or {}
    own_val = "x_val" in arrays
    if subset.get("train"):
        order = order[: int(subset["train"] / (1 - (0 if own_val else validation_fraction)))]
    n_val = 0 if own_val else int(round(len(order) * validation_fraction))
    val, train = order[:n_val], order[n_val:]
    x_test, y_test = arrays["x_test"], arrays["y_test"]
    if subset.get("test"):
        keep = rng.permutation(len(x_test))[: subset["test"]]
        x_test, y_test = x_test[keep], y_test[keep]
    out = {
        "x_train": x[train],
        "y_train": y[train],
        "x_val": arrays["x_val"] if own_val else x[val],
        "y_val": arrays["y_val"] if own_val else y[val],
        "x_test": x_test,
        "y_test": y_test,
    }
    return {**out, "class_names": arrays["class_names"]} if "class_names" in arrays else out


def prepare(name: str, spec: dict, data_dir: str | None, download_dir: Path, seed: int) -> dict:
    raw = resolve_source(name, spec, data_dir, download_dir)
    arrays = validate_arrays(name, raw, spec.get("num_classes", 10))
    return split_and_subset(arrays, spec.get("validation_fraction", 0.1), seed, spec.get("subset"))


def save(arrays: dict, path: Path, num_classes: int) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, num_classes=np.int64(num_classes), **arrays)


def load(path: Path) -> Dataset:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"prepared dataset {path} is missing; run the prepare_data rule first")
    with np.load(path) as data:
        names = [str(n) for n in data["class_names"]] if "class_names" in data.files else None
        return Dataset(
            num_classes=int(data["num_classes"]),
            class_names=names,
            **{f"{a}_{s}": data[f"{a}_{s}"] for s in SPLITS for a in "xy"},
        )


def representative_sample(dataset: Dataset, count: int, seed: int) -> np.ndarray:
    """Training images for calibrating full-integer quantization (never validation or test)."""
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(dataset.x_train), size=min(count, len(dataset.x_train)), replace=False)
    return dataset.x_train[idx]
