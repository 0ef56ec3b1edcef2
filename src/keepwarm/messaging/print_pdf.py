"""Printed letters and address labels as PDF (ReportLab): pure layout, no database.

`LABEL_FORMATS` is the one register of label sheets, each a `LabelFormat` with the published
geometry (Avery 5160 on US Letter, Avery L7160 on A4); `LabelFormat.box` gives a label's
rectangle, which the tests check against the published dimensions. `PAGES` holds the letter
pages (A4 with the address block in the DIN 5008 window of a DL envelope, US Letter with it in
the window of a #10 envelope).

Text that does not fit is wrapped, then set smaller down to a floor; a letter still too long
continues on a following page, and an address block or label that would not fit even at the
floor raises `DoesNotFit` naming the client: nothing is ever cut silently.

Fonts: DejaVu Sans (Debian's fonts-dejavu-core, /usr/share/fonts/truetype/dejavu) when it is
installed, so accents and most scripts print; otherwise ReportLab's built-in Helvetica, which
prints Western European accents (Latin-1) only (a warning is logged once).
"""

from __future__ import annotations

import functools
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.units import inch, mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

log = logging.getLogger(__name__)

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")


class DoesNotFit(ValueError):
    """A text that would have to be cut to be printed (an address too long for its label)."""


@dataclass(frozen=True)
class LabelFormat:
    """A sheet of labels: page size, grid, label size, the top and left margins and the gaps
    between labels, all in points (1/72 inch), as the manufacturer publishes them."""

    key: str
    name: str
    page: tuple[float, float]
    columns: int
    rows: int
    width: float
    height: float
    top: float
    left: float
    gap_x: float
    gap_y: float = 0.0
    padding: float = 0.08 * inch
    short: str = ""  # for a narrow menu: "Avery 5160 (Letter)"

    @property
    def per_sheet(self) -> int:
        return self.columns * self.rows

    def box(self, position: int) -> tuple[float, float, float, float]:
        """The label at `position` (1-based, row by row) as (x, y, width, height) with y the
        bottom edge, in PDF coordinates (origin at the page's bottom left)."""
        if not 1 <= position <= self.per_sheet:
            raise ValueError(f"position: 1 to {self.per_sheet} on a {self.name} sheet")
        row, column = divmod(position - 1, self.columns)
        x = self.left + column * (self.width + self.gap_x)
        top = self.top + row * (self.height + self.gap_y)
        return x, self.page[1] - top - self.height, self.width, self.height


LABEL_FORMATS: dict[str, LabelFormat] = {
    "avery5160": LabelFormat(
        "avery5160",
        "Avery 5160 (US Letter, 30 a sheet)",
        LETTER,
        columns=3,
        rows=10,
        width=2.625 * inch,
        height=1 * inch,
        top=0.5 * inch,
        left=0.1875 * inch,
        gap_x=0.125 * inch,
        short="Avery 5160 (Letter)",
    ),
    "l7160": LabelFormat(
        "l7160",
        "Avery L7160 (A4, 21 a sheet)",
        A4,
        columns=3,
        rows=7,
        width=63.5 * mm,
        height=38.1 * mm,
        top=15.15 * mm,
        left=7.2 * mm,
        gap_x=2.5 * mm,
        short="Avery L7160 (A4)",
    ),
}


def label_format(key: str) -> LabelFormat:
    try:
        return LABEL_FORMATS[key]
    except KeyError:
        raise ValueError(
            f"label format: {key!r} is not one of {', '.join(LABEL_FORMATS)}"
        ) from None


@dataclass(frozen=True)
class LetterPage:
    """A letter's page: its size, margins, and the address block's box (x, top, width,
    height; top measured down from the page's top edge) where the envelope's window is."""

    key: str
    size: tuple[float, float]
    margin: float
    address: tuple[float, float, float, float]


PAGES: dict[str, LetterPage] = {
    # DIN 5008 form B: the window of a DL envelope, 20 mm from the left, 45 mm down.
    "a4": LetterPage("a4", A4, 20 * mm, (20 * mm, 50 * mm, 85 * mm, 40 * mm)),
    # A #10 window envelope takes a tri-folded letter's address about 2 in down, 1 in in.
    "letter": LetterPage(
        "letter", LETTER, 0.875 * inch, (1 * inch, 2 * inch, 3.5 * inch, 1 * inch)
    ),
}


@dataclass(frozen=True)
class Letter:
    """One letter to print: the client's id (for errors), their address block (lines), the
    text, and the signature line ("Dana Reyes, Northside Physio")."""

    client: str
    address: tuple[str, ...]
    text: str
    signature: str


@dataclass(frozen=True)
class Label:
    client: str
    lines: tuple[str, ...]
    sheet: int
    position: int


@functools.cache
def fonts() -> tuple[str, str]:
    """The regular and bold font names: DejaVu Sans when installed, else Helvetica."""
    regular, bold = DEJAVU / "DejaVuSans.ttf", DEJAVU / "DejaVuSans-Bold.ttf"
    if regular.is_file() and bold.is_file():
        pdfmetrics.registerFont(TTFont("KwSans", str(regular)))
        pdfmetrics.registerFont(TTFont("KwSans-Bold", str(bold)))
        return "KwSans", "KwSans-Bold"
    log.warning("DejaVu Sans is not installed (fonts-dejavu-core): printing with Helvetica")
    return "Helvetica", "Helvetica-Bold"


def _wrap(lines: Sequence[str], font: str, size: float, width: float) -> list[str]:
    out: list[str] = []
    for line in lines:
        out.extend(simpleSplit(line, font, size, width) or [""])
    return out


def fit(
    lines: Sequence[str], width: float, height: float, *, largest: float, smallest: float
) -> tuple[float, list[str]]:
    """The largest size (by half points) at which `lines`, wrapped to `width`, fit in
    `height` (leading 1.2 x size), and the wrapped lines. Raises DoesNotFit."""
    font, _ = fonts()
    size = largest
    while size >= smallest:
        wrapped = _wrap(lines, font, size, width)
        if len(wrapped) * size * 1.2 <= height:
            return size, wrapped
        size -= 0.5
    raise DoesNotFit(f"{len(lines)} lines do not fit in {width / mm:.0f} x {height / mm:.0f} mm")


def letters_pdf(
    letters: Sequence[Letter], *, practice: str | None, date_line: str, page: str = "a4"
) -> bytes:
    """One letter per page (a long one continues on the next): the practice's name, the date,
    the address block in the envelope window, the text and the signature line."""
    layout = PAGES[page]
    regular, bold = fonts()
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=layout.size, pageCompression=1)
    canvas.setTitle("Letters")
    width, height = layout.size
    for letter in letters:
        top = height - layout.margin
        if practice:
            canvas.setFont(bold, 14)
            canvas.drawString(layout.margin, top - 14, practice)
        canvas.setFont(regular, 10)
        canvas.drawRightString(width - layout.margin, top - 14, date_line)
        x, box_top, box_width, box_height = layout.address
        try:
            size, lines = fit(letter.address, box_width, box_height, largest=10, smallest=6)
        except DoesNotFit:
            raise DoesNotFit(
                f"the address of client {letter.client} does not fit the envelope window: "
                "shorten it"
            ) from None
        canvas.setFont(regular, size)
        y = height - box_top - size
        for line in lines:
            canvas.drawString(x, y, line)
            y -= size * 1.2
        body_top = height - box_top - box_height - 12 * mm
        _body(canvas, letter, layout, body_top, regular)
        canvas.showPage()
    canvas.save()
    return out.getvalue()


def _body(canvas: Canvas, letter: Letter, layout: LetterPage, top: float, font: str) -> None:
    """The letter's text and signature from `top` down, set at 11 pt, or down to 9 pt to keep
    it on one page; what still does not fit continues on the next page."""
    width, height = layout.size
    text_width = width - 2 * layout.margin
    paragraphs = [*letter.text.splitlines(), "", letter.signature]
    available = top - layout.margin
    try:
        size, lines = fit(paragraphs, text_width, available, largest=11, smallest=9)
    except DoesNotFit:
        size = 9
        lines = _wrap(paragraphs, font, size, text_width)
    leading = size * 1.35
    y = top - size
    canvas.setFont(font, size)
    for line in lines:
        if y < layout.margin:
            canvas.showPage()
            canvas.setFont(font, size)
            y = height - layout.margin - size
        canvas.drawString(layout.margin, y, line)
        y -= leading


def labels_pdf(labels: Sequence[Label], fmt: LabelFormat) -> bytes:
    """Labels at their sheet and position on `fmt`'s grid, each text wrapped and set as large
    as fits (10 pt down to 5 pt) inside the label's padding. Raises DoesNotFit."""
    regular, _ = fonts()
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=fmt.page, pageCompression=1)
    canvas.setTitle(f"Labels, {fmt.name}")
    sheets = sorted({label.sheet for label in labels})
    for sheet in sheets:
        for label in (lb for lb in labels if lb.sheet == sheet):
            x, y, w, h = fmt.box(label.position)
            inner_w, inner_h = w - 2 * fmt.padding, h - 2 * fmt.padding
            try:
                size, lines = fit(label.lines, inner_w, inner_h, largest=10, smallest=5)
            except DoesNotFit:
                raise DoesNotFit(
                    f"the address of client {label.client} does not fit a {fmt.name} label: "
                    "shorten it"
                ) from None
            canvas.setFont(regular, size)
            # Centred vertically: the block's height is the lines' leading.
            block = len(lines) * size * 1.2
            line_y = y + h / 2 + block / 2 - size
            for line in lines:
                canvas.drawString(x + fmt.padding, line_y, line)
                line_y -= size * 1.2
        canvas.showPage()
    canvas.save()
    return out.getvalue()
