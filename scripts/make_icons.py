"""Draw the toolbar icons into icons/ with Qt's QPainter inside the KLayout application.

    QT_QPA_PLATFORM=offscreen klayout -z -nc -rx -r scripts/make_icons.py

Writes icons/expression.png and icons/memory.png (64x64, what grain.xml and the toolbar use; Qt scales
them down) plus 32x32 and 24x24 previews in tests/_artifacts/icons/ to check legibility at toolbar size.
The shapes are bold and few on purpose: at 24 px only outlines and two or three colours survive.
"""

import os
import sys

import pya

HERE = os.path.dirname(os.path.abspath(__file__))
ICONS = os.path.join(os.path.dirname(HERE), "icons")


def colour(hex_rgb, alpha=255):
    c = pya.QColor(hex_rgb)
    c.setAlpha(alpha)
    return c


def brush(hex_rgb, alpha=255):
    return pya.QBrush(colour(hex_rgb, alpha))


def no_pen():
    p = pya.QPen()
    p.setStyle(pya.Qt.NoPen)
    return p


def pen(hex_rgb, width):
    p = pya.QPen(colour(hex_rgb))
    p.setWidthF(width)
    p.setJoinStyle(pya.Qt.MiterJoin)
    return p


def new_image(size):
    image = pya.QImage(size, size, pya.QImage.Format_ARGB32)
    image.fill(0)
    painter = pya.QPainter(image)
    painter.setRenderHint(pya.QPainter.Antialiasing, True)
    painter.scale(size / 64.0, size / 64.0)  # draw in a 64-unit square at every size
    return image, painter


def draw_expression(painter):
    # Two overlapping layers, A (blue) and B (red), and their AND filled in orange: a layer Boolean.
    a = pya.QRectF(6, 6, 34, 34)
    b = pya.QRectF(24, 24, 34, 34)
    painter.setPen(no_pen())
    painter.setBrush(brush("#2f6fde", 110))
    painter.drawRect(a)
    painter.setBrush(brush("#d93a2b", 110))
    painter.drawRect(b)
    painter.setBrush(brush("#ff9800"))
    painter.drawRect(pya.QRectF(24, 24, 16, 16))
    painter.setBrush(pya.QBrush())
    painter.setPen(pen("#1f4fae", 5.0))
    painter.drawRect(a)
    painter.setPen(pen("#b3261e", 5.0))
    painter.drawRect(b)


def draw_memory(painter):
    # A memory chip (dark body, pins on both sides) with a rising bar chart: "where the memory goes".
    painter.setPen(no_pen())
    painter.setBrush(brush("#5b6470"))
    for i in range(4):
        y = 12 + i * 12
        painter.drawRect(pya.QRectF(2, y, 9, 5))
        painter.drawRect(pya.QRectF(53, y, 9, 5))
    painter.setBrush(brush("#263238"))
    painter.drawRoundedRect(pya.QRectF(9, 5, 46, 54), 5, 5)
    bars = (("#43a047", 14), ("#fbc02d", 26), ("#e53935", 38))
    for i, (hex_rgb, height) in enumerate(bars):
        painter.setBrush(brush(hex_rgb))
        painter.drawRect(pya.QRectF(15 + i * 12, 52 - height, 9, height))
    painter.setBrush(brush("#eceff1"))
    painter.drawRect(pya.QRectF(13, 52, 38, 3))


def render(name, draw, size, directory):
    image, painter = new_image(size)
    try:
        draw(painter)
    finally:
        painter.end()
    path = os.path.join(directory, f"{name}.png")
    if not image.save(path, "PNG"):
        raise RuntimeError(f"could not write {path}")
    return path


def main():
    preview = os.path.join(os.path.dirname(ICONS), "tests", "_artifacts", "icons")
    os.makedirs(preview, exist_ok=True)
    for name, draw in (("expression", draw_expression), ("memory", draw_memory)):
        print(render(name, draw, 64, ICONS))
        for size in (32, 24):
            print(render(f"{name}-{size}", draw, size, preview))
    return 0


try:
    rc = main()
except Exception as exc:  # never the modal error dialog
    print(f"make_icons: {exc!r}", file=sys.stderr)
    rc = 1
app = pya.Application.instance()
if app is not None:
    app.exit(rc)
sys.exit(rc)
