"""Pictures for the demo agency: sample photos of the Tide Table Lamp, drawn with Pillow (no files shipped)."""

from __future__ import annotations

import functools
import io

from PIL import Image, ImageDraw, ImageFilter

SIZE = (1600, 1200)


def _backdrop(top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Image.Image:
    """A studio backdrop: a vertical gradient."""
    width, height = SIZE
    image = Image.new("RGB", SIZE)
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / (height - 1)
        draw.line(
            [(0, y), (width, y)], fill=tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        )
    return image


def lamp_photo(view: str) -> bytes:
    """A JPEG of the lamp: "front" (the whole lamp), "base" (the oak base and dimmer) or "shade" (the glass)."""
    image = _backdrop((236, 233, 226), (196, 190, 180))
    draw = ImageDraw.Draw(image)
    cx = SIZE[0] // 2
    if view == "base":
        draw.ellipse([cx - 520, 640, cx + 520, 1000], fill=(122, 84, 48))  # oak base, close up
        draw.ellipse([cx - 520, 600, cx + 520, 940], fill=(160, 114, 70))
        for ring in range(60, 520, 55):  # turned grain
            draw.ellipse(
                [cx - ring, 770 - ring * 0.32, cx + ring, 770 + ring * 0.32], outline=(138, 96, 56), width=4
            )
        draw.rectangle([cx - 40, 80, cx + 40, 770], fill=(181, 150, 84))  # brass stem
        draw.rectangle([cx - 14, 80, cx - 4, 770], fill=(222, 196, 128))
        draw.ellipse([cx + 300, 700, cx + 380, 740], fill=(60, 60, 60))  # touch dimmer pad
    elif view == "shade":
        draw.ellipse([cx - 480, 160, cx + 480, 1060], fill=(248, 246, 240))  # opal glass, lit
        glow = Image.new("L", SIZE, 0)
        ImageDraw.Draw(glow).ellipse([cx - 300, 330, cx + 300, 890], fill=200)
        image.paste((255, 244, 214), mask=glow.filter(ImageFilter.GaussianBlur(120)))
        draw = ImageDraw.Draw(image)
        draw.rectangle([cx - 40, 1010, cx + 40, 1200], fill=(181, 150, 84))
    else:
        draw.ellipse([cx - 300, 960, cx + 300, 1080], fill=(122, 84, 48))  # base
        draw.ellipse([cx - 300, 930, cx + 300, 1040], fill=(160, 114, 70))
        draw.rectangle([cx - 16, 420, cx + 16, 985], fill=(181, 150, 84))  # stem
        draw.ellipse([cx - 260, 140, cx + 260, 560], fill=(246, 243, 236))  # shade
        draw.arc([cx - 260, 140, cx + 260, 560], 200, 340, fill=(215, 210, 200), width=6)
    image = image.filter(ImageFilter.GaussianBlur(1.2))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()


@functools.lru_cache(maxsize=16)  # the same carton photographed for two lots is drawn once
def factory_photo(view: str, seed: int = 0) -> bytes:
    """A JPEG from the factory floor: "shades" (spun aluminium shades on a rack, `seed` of them lit by the day's
    light), "clip" (a tray of moulded diffuser clips from a tooling trial), "defect" (an inspector's close-up of a
    shade rim with a dent, `seed` moving it), "carton" (a stack of master cartons) or "label" (a carton's shipping
    mark)."""
    image = _backdrop((214, 218, 222), (150, 156, 162))
    draw = ImageDraw.Draw(image)
    if view == "defect":
        draw.ellipse([-400, 200, 2000, 1500], fill=(196, 200, 204))  # the shade's outside, close up
        draw.arc([-400, 200, 2000, 1500], 190, 350, fill=(238, 240, 242), width=18)  # the rolled rim
        x = 520 + (seed * 97) % 500
        draw.ellipse([x, 420, x + 170, 520], fill=(150, 154, 158))  # the dent
        draw.line([(x + 20, 470), (x + 300, 560)], fill=(120, 122, 126), width=6)  # its scratch
        draw.ellipse([x - 60, 360, x + 230, 580], outline=(220, 40, 40), width=10)  # the inspector's circle
    elif view in ("carton", "label"):
        for row in range(3 if view == "carton" else 1):
            for col in range(3 if view == "carton" else 1):
                w = 420 if view == "carton" else 1200
                x, y = 140 + col * 450, 180 + row * 300
                draw.rectangle([x, y, x + w, y + (270 if view == "carton" else 820)], fill=(176, 138, 92))
                draw.rectangle(
                    [x + 40, y + 40, x + w // 2, y + 120], fill=(246, 244, 238)
                )  # the shipping mark
                for line in range(3):
                    draw.line(
                        [(x + 60, y + 62 + line * 20), (x + w // 2 - 30, y + 62 + line * 20)],
                        fill=(40, 40, 40),
                        width=6,
                    )
    elif view == "clip":
        draw.rectangle([180, 300, 1420, 1020], fill=(62, 66, 70))  # the tray
        for row in range(5):
            for col in range(10):
                x, y = 250 + col * 115, 360 + row * 125
                draw.rounded_rectangle([x, y, x + 80, y + 90], radius=14, fill=(238, 236, 230))
                draw.rectangle([x + 30, y + 10, x + 50, y + 45], fill=(200, 198, 190))  # the latch
    else:
        for shelf in range(3):
            y = 260 + shelf * 300
            draw.rectangle([120, y + 190, 1480, y + 210], fill=(96, 90, 82))  # the rack's shelf
            for slot in range(6):
                x = 200 + slot * 215 + (seed * 17 + shelf * 31) % 40
                draw.pieslice([x, y, x + 190, y + 380], 180, 360, fill=(192, 196, 200))  # a spun shade
                draw.arc([x, y, x + 190, y + 380], 200, 340, fill=(236, 238, 240), width=5)
    image = image.filter(ImageFilter.GaussianBlur(1.0))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=82)
    return out.getvalue()
