"""Write a folder of photos, one sub-folder per class, from scikit-learn's bundled digits.

Transfer learning wants a folder of pictures (keras.io's guide uses cats and dogs); nothing here may
be downloaded, so this makes one from data a package ships: the 8x8 handwritten digits, upscaled
(bilinear) to SIZE x SIZE RGB PNGs. `kzoo train mobilenet_v3_small --data photos/` then reads it like
any image folder, and resizes to the model's input itself.

    python scripts/digits_photos.py photos/ --classes 0,1,2 --per-class 30 --size 64
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path


def write_digits_photos(folder: str | Path, classes: Sequence[int] = (0, 1, 2), per_class: int = 30,
                        size: int = 64) -> Path:
    """``folder/digit_<k>/<i>.png`` for each digit ``k`` of ``classes``: its first ``per_class``
    images, white on black, ``size`` pixels square, RGB. Returns ``folder``."""
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    root = Path(folder)
    for k in classes:
        rows = np.flatnonzero(digits.target == k)[:per_class]
        if len(rows) < per_class:
            raise SystemExit(f"digits has only {len(rows)} images of {k}; ask for at most that many --per-class.")
        (root / f"digit_{k}").mkdir(parents=True, exist_ok=True)
        for i in rows:
            grey = Image.fromarray((digits.images[i] * 255 / 16).astype("uint8"))
            grey.resize((size, size), Image.BILINEAR).convert("RGB").save(root / f"digit_{k}" / f"{i}.png")
    return root


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="where to write the class sub-folders")
    parser.add_argument("--classes", default="0,1,2", help="digits to include, comma-separated (default 0,1,2)")
    parser.add_argument("--per-class", type=int, default=30, help="images per class (at most 170; default 30)")
    parser.add_argument("--size", type=int, default=64, help="height and width in pixels (default 64)")
    args = parser.parse_args(argv)
    classes = [int(k) for k in args.classes.split(",")]
    if not all(0 <= k <= 9 for k in classes) or args.per_class < 1 or args.size < 8:
        parser.error("--classes takes digits 0..9, --per-class at least 1, --size at least 8")
    root = write_digits_photos(args.folder, classes, args.per_class, args.size)
    print(f"wrote {len(classes) * args.per_class} images of {len(classes)} classes to {root}/")


if __name__ == "__main__":
    main()
