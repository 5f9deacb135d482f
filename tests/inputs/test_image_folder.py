"""A dataset from a folder of images (dnncomp.inputs.image_folder, source: folder)."""

import numpy as np
import pytest
from PIL import Image

from dnncomp.inputs import data, image_folder


def make_folder(root, classes=("cat", "dog"), splits=("train", "test"), per_class=3, size=(20, 24), mode="RGB"):
    rng = np.random.default_rng(0)
    for split in splits:
        for label, name in enumerate(classes):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(per_class):
                shape = (size[0], size[1], 3) if mode == "RGB" else size
                pixels = np.full(shape, 40 * (label + 1), np.uint8) + rng.integers(0, 10, shape).astype(np.uint8)
                Image.fromarray(pixels, mode).save(folder / f"{i}.{'png' if i % 2 else 'jpg'}")
    return root


def test_images_are_decoded_resized_and_labelled_by_sorted_class_folders(tmp_path):
    root = make_folder(tmp_path / "pets", classes=("dog", "cat"), splits=("train", "test", "val"))
    arrays = image_folder.read(root, [12, 10], 3)
    assert list(arrays["class_names"]) == ["cat", "dog"]  # label 0 is the first name in sorted order
    assert arrays["x_train"].shape == (6, 12, 10, 3) and arrays["x_train"].dtype == np.uint8
    assert list(arrays["y_train"]) == [0, 0, 0, 1, 1, 1]
    assert arrays["x_train"][0].mean() > arrays["x_train"][-1].mean()  # cat (made second: 80) before dog (40)
    gray = image_folder.read(root, [8, 8], 1)
    assert gray["x_test"].shape == (6, 8, 8, 1)


def test_a_val_folder_is_the_validation_split_and_class_names_reach_the_cache(tmp_path):
    root = make_folder(tmp_path / "pets", splits=("train", "test", "val"))
    spec = {"source": "folder", "path": str(root), "image_size": [8, 8], "channels": 3, "num_classes": 2}
    arrays = data.prepare("pets", spec, None, tmp_path, seed=0)
    assert len(arrays["x_train"]) == 6 and len(arrays["x_val"]) == 6  # nothing carved from train
    data.save(arrays, tmp_path / "pets.npz", 2)
    loaded = data.load(tmp_path / "pets.npz")
    assert loaded.class_names == ["cat", "dog"] and loaded.input_shape == (8, 8, 3)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda root: None, None),
        (lambda root: __import__("shutil").rmtree(root / "test"), r"has no test/ folder"),
        (lambda root: (root / "test" / "bird").mkdir(), r"class folder\(s\) \['bird'\] hold no PNG or JPEG image"),
        (
            lambda root: __import__("shutil").rmtree(root / "test" / "dog"),
            r"the classes of test/ differ from train/'s \(missing: \['dog'\], extra: none\)",
        ),
    ],
)
def test_a_wrong_layout_is_named_without_reading_an_image(tmp_path, damage, message):
    root = make_folder(tmp_path / "pets")
    damage(root)
    if message is None:
        assert image_folder.class_names(root) == ["cat", "dog"]
        return
    with pytest.raises(image_folder.FolderError, match=message):
        image_folder.class_names(root)


def test_an_unreadable_image_is_named(tmp_path):
    root = make_folder(tmp_path / "pets")
    (root / "train" / "dog" / "broken.png").write_bytes(b"not an image")
    with pytest.raises(image_folder.FolderError, match=r"image .*train/dog/broken.png cannot be read"):
        image_folder.read(root, [8, 8], 3)


def test_start_up_checks_name_the_key(tmp_path):
    root = make_folder(tmp_path / "pets")
    spec = {"source": "folder", "path": str(root), "image_size": [8, 8], "channels": 3, "num_classes": 3}
    with pytest.raises(data.DataError, match=r"datasets.pets.num_classes: 3, but .* has 2 class folders \(cat, dog\)"):
        data.check_source("pets", spec, None)
    with pytest.raises(data.DataError, match=r"datasets.pets.path: folder .*nowhere does not exist"):
        data.check_source("pets", {**spec, "path": str(tmp_path / "nowhere")}, None)
