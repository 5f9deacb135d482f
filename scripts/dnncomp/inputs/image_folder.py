"""A dataset from a folder of images (`datasets.NAME: {source: folder, path: DIR, image_size: [H, W], channels: 1|3}`).

    DIR/train/<class>/*.png|jpg   DIR/test/<class>/*   DIR/val/<class>/* (optional)

the layout keras.utils.image_dataset_from_directory reads. Class names are the folder names, in
sorted order (label 0 is the first); every split has the same classes. Images are decoded once, by
Pillow, converted to gray or RGB and resized (bilinear) to image_size, into the uint8 arrays every
other source gives; prepare_data caches them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.errors import UserError

EXTENSIONS = (".png", ".jpg", ".jpeg")
SPLITS = ("train", "test", "val")


class FolderError(UserError):
    """An image folder that cannot be read as a dataset; the message names the folder or the file."""


def images_of(folder: Path) -> list:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in EXTENSIONS and p.is_file())


def class_names(root: Path) -> list:
    """The class names, after checking the layout: train/ and test/ (val/ optional) hold the same
    class folders, and none is empty. Reads no image (start-up calls it)."""
    if not root.is_dir():
        raise FolderError(f"folder {root} does not exist")
    names = {}
    for split in SPLITS:
        folder = root / split
        if not folder.is_dir():
            if split == "val":
                continue
            raise FolderError(f"{root} has no {split}/ folder (expected {root}/{split}/<class>/*.png)")
        classes = sorted(p.name for p in folder.iterdir() if p.is_dir())
        if not classes:
            raise FolderError(f"{folder} holds no class folders (expected {folder}/<class>/*.png)")
        empty = [c for c in classes if not images_of(folder / c)]
        if empty:
            raise FolderError(f"{folder}: class folder(s) {empty} hold no PNG or JPEG image")
        names[split] = classes
    for split, classes in names.items():
        if classes != names["train"]:
            missing, extra = sorted(set(names["train"]) - set(classes)), sorted(set(classes) - set(names["train"]))
            raise FolderError(
                f"{root}: the classes of {split}/ differ from train/'s (missing: {missing or 'none'}, "
                f"extra: {extra or 'none'})"
            )
    return names["train"]


def decode(path: Path, size: tuple, channels: int) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image = image.convert("L" if channels == 1 else "RGB")
            if image.size != (size[1], size[0]):
                image = image.resize((size[1], size[0]), Image.BILINEAR)
            pixels = np.asarray(image, dtype=np.uint8)
    except (UnidentifiedImageError, OSError) as err:
        raise FolderError(f"image {path} cannot be read ({err})") from None
    return pixels if channels == 3 else pixels[..., None]


def read(root: Path, image_size, channels: int) -> dict:
    """{x_train, y_train, x_test, y_test[, x_val, y_val], class_names} from the folder."""
    root = Path(root)
    names = class_names(root)
    size = tuple(int(v) for v in image_size)
    arrays = {"class_names": np.array(names)}
    for split in SPLITS:
        if not (root / split).is_dir():
            continue
        files = [(label, path) for label, name in enumerate(names) for path in images_of(root / split / name)]
        arrays[f"x_{split}"] = np.stack([decode(path, size, channels) for _, path in files])
        arrays[f"y_{split}"] = np.array([label for label, _ in files], dtype=np.uint8)
    return arrays
