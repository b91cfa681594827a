"""Draw the app icons: a table with six neighbours around it.

Run with the dev requirements (Pillow): .venv/bin/python scripts/draw-icons.py
The PNGs are committed; this script is how they were made.
"""

import math
from pathlib import Path

from PIL import Image, ImageDraw

GREEN = (29, 94, 74, 255)
CREAM = (251, 248, 243, 255)
OUT = Path(__file__).resolve().parent.parent / "static" / "icons"
SCALE = 4  # draw large, then shrink: smooth edges


def draw(size: int, maskable: bool) -> Image.Image:
    big = size * SCALE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    if maskable:
        pen.rectangle((0, 0, big, big), fill=GREEN)
        content = 0.62  # inside the maskable safe zone (a circle of 80%)
    else:
        pen.rounded_rectangle((0, 0, big - 1, big - 1), radius=big * 0.22, fill=GREEN)
        content = 0.84
    centre = big / 2
    unit = big * content / 2
    table = unit * 0.42
    pen.ellipse((centre - table, centre - table, centre + table, centre + table), fill=CREAM)
    for i in range(6):
        angle = math.pi / 2 + i * math.pi / 3
        x = centre + math.cos(angle) * unit * 0.78
        y = centre - math.sin(angle) * unit * 0.78
        r = unit * 0.17
        pen.ellipse((x - r, y - r, x + r, y + r), fill=CREAM)
    # A small palette keeps the files a few KB: two colours and their edges.
    return image.resize((size, size), Image.LANCZOS).quantize(colors=24, method=Image.Quantize.FASTOCTREE)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        draw(size, maskable=False).save(OUT / f"icon-{size}.png", optimize=True)
    draw(512, maskable=True).save(OUT / "maskable-512.png", optimize=True)
    draw(180, maskable=True).save(OUT / "apple-touch-icon.png", optimize=True)
    draw(48, maskable=False).save(OUT / "icon-48.png", optimize=True)


if __name__ == "__main__":
    main()
