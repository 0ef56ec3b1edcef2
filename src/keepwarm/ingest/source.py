"""Opening a CSV export safely: size limits, encoding detection, delimiter sniffing, and rows
with their physical line numbers. Nothing here knows what the columns mean."""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from keepwarm.config import Settings
from keepwarm.domain.model import ImportProblem, ProblemCode, ProblemLog

_CHUNK = 1 << 20
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_NOT_CSV = (
    (b"PK\x03\x04", "an Excel workbook (.xlsx) or another zip file"),
    (b"\xd0\xcf\x11\xe0", "an old Excel workbook (.xls)"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG picture"),
    (b"\xff\xd8\xff", "a JPEG picture"),
)
DELIMITERS = (",", ";", "\t", "|")
_LINE_END = re.compile(r"\r\n?|\n")
MAX_PROBLEMS_PER_SOURCE = 50


class UnreadableFile(Exception):
    """The file as a whole cannot be read as CSV; `problems` say why (with lines where known)."""

    def __init__(self, problems: list[ImportProblem]) -> None:
        super().__init__(problems[0].reason if problems else "unreadable file")
        self.problems = problems


class _Undecodable(UnreadableFile):
    """The bytes are not text in the encoding tried (as opposed to text holding NUL bytes)."""


_DEFAULTS = Settings()


@dataclass(frozen=True)
class Limits:
    """How large a file, how many rows and how long a field an import accepts; the defaults
    are the settings' (KEEPWARM_IMPORT_MAX_BYTES, _ROWS, _FIELD)."""

    max_bytes: int = _DEFAULTS.import_max_bytes
    max_rows: int = _DEFAULTS.import_max_rows
    max_field: int = _DEFAULTS.import_max_field


@dataclass(frozen=True)
class CsvSource:
    """A CSV file that has passed the whole-file checks, ready to be read row by row."""

    path: Path
    encoding: str
    delimiter: str
    header: tuple[str, ...]
    size: int
    sha256: str
    limits: Limits

    def rows(
        self,
        problems: ProblemLog,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> Iterator[tuple[int, list[str]]]:
        """Yield (line number, fields) for each data row. Structural faults (bad quoting,
        ragged rows, huge fields, too many rows) are appended to `problems` and skipped."""
        csv.field_size_limit(self.limits.max_field)
        width = len(self.header)
        count = 0
        with self.path.open("rb") as raw:
            text = io.TextIOWrapper(raw, encoding=self.encoding, newline="", errors="strict")
            reader = csv.reader(text, delimiter=self.delimiter, strict=True)
            last_line = 0
            header_seen = False
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    # Name the line where the faulty row starts: an unclosed quote is only
                    # noticed at the end of the file, many lines after the row that opened it.
                    problems.append(
                        ImportProblem(
                            last_line + 1, None, _csv_reason(exc), ProblemCode.MALFORMED_ROW
                        )
                    )
                    last_line = reader.line_num
                    continue
                line = last_line + 1
                last_line = reader.line_num
                if not header_seen:
                    header_seen = True
                    continue
                if not row or not any(cell.strip() for cell in row):
                    continue
                if len(row) != width:
                    if len(row) > width and not any(cell.strip() for cell in row[width:]):
                        row = row[:width]
                    else:
                        problems.append(
                            ImportProblem(
                                line,
                                None,
                                f"expected {width} fields, found {len(row)}",
                                ProblemCode.WRONG_FIELD_COUNT,
                            )
                        )
                        continue
                count += 1
                if count > self.limits.max_rows:
                    problems.append(
                        ImportProblem(
                            line,
                            None,
                            f"more than {self.limits.max_rows:,} rows: split the file "
                            "or raise KEEPWARM_IMPORT_MAX_ROWS",
                            ProblemCode.TOO_MANY_ROWS,
                        )
                    )
                    return
                if on_progress is not None and count % 10_000 == 0:
                    on_progress(min(raw.tell(), self.size), self.size)
                yield line, row
            if on_progress is not None:
                on_progress(self.size, self.size)


@contextmanager
def regular_file(source: Path | BinaryIO, max_bytes: int) -> Iterator[Path]:
    """A regular file holding `source`'s bytes, which can be read as often as needed.

    Reading a file takes several passes (encoding, then rows), and a pipe, a FIFO,
    /dev/stdin or standard input yields its data only once: such a source is read once into a
    temporary file (deleted afterwards), up to `max_bytes`. A regular file, a folder or a
    path that does not exist is passed through as it is, for `open_csv` to read or refuse."""
    if isinstance(source, Path):
        try:
            mode = source.stat().st_mode
        except OSError:
            yield source
            return
        if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
            yield source
            return
        try:
            stream = source.open("rb")
        except OSError as exc:
            raise _cannot_open(exc) from None
        with stream, _spooled(stream, max_bytes) as path:
            yield path
        return
    with _spooled(source, max_bytes) as path:
        yield path


@contextmanager
def _spooled(stream: BinaryIO, max_bytes: int) -> Iterator[Path]:
    fd, name = tempfile.mkstemp(prefix="keepwarm-import-", suffix=".csv")
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            size = 0
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise UnreadableFile(
                        [
                            ImportProblem(
                                None,
                                None,
                                f"the file is more than the limit of {max_bytes:,} bytes "
                                "(KEEPWARM_IMPORT_MAX_BYTES)",
                                ProblemCode.TOO_LARGE,
                            )
                        ]
                    )
                out.write(chunk)
        yield path
    finally:
        path.unlink(missing_ok=True)


def _cannot_open(exc: OSError) -> UnreadableFile:
    return UnreadableFile(
        [ImportProblem(None, None, exc.strerror or str(exc), ProblemCode.CANNOT_OPEN)]
    )


def _csv_reason(exc: csv.Error) -> str:
    message = str(exc)
    if "field larger than field limit" in message:
        return "a field is longer than the limit (KEEPWARM_IMPORT_MAX_FIELD); bad quoting?"
    if "unexpected end of data" in message:
        return 'a quoted field that starts in this row is never closed (unbalanced " quotes)'
    return f"malformed CSV ({message})"


def open_csv(path: Path, *, encoding: str | None = None, limits: Limits | None = None) -> CsvSource:
    """Check the whole file and work out how to read it; raise UnreadableFile if it can't be."""
    limits = limits or Limits()
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(_CHUNK)
    except FileNotFoundError:
        raise UnreadableFile(
            [ImportProblem(None, None, "no such file", ProblemCode.NO_SUCH_FILE)]
        ) from None
    except IsADirectoryError:
        raise UnreadableFile(
            [ImportProblem(None, None, "is a folder, not a file", ProblemCode.NOT_A_FILE)]
        ) from None
    except OSError as exc:
        raise _cannot_open(exc) from None
    if size > limits.max_bytes:
        raise UnreadableFile(
            [
                ImportProblem(
                    None,
                    None,
                    f"the file is {size:,} bytes, more than the limit of {limits.max_bytes:,} "
                    "(KEEPWARM_IMPORT_MAX_BYTES)",
                    ProblemCode.TOO_LARGE,
                )
            ]
        )
    if not head.strip():
        raise UnreadableFile(
            [ImportProblem(None, None, "the file is empty", ProblemCode.EMPTY_FILE)]
        )
    for magic, what in _NOT_CSV:
        if head.startswith(magic):
            raise UnreadableFile(
                [
                    ImportProblem(
                        None,
                        None,
                        f"this is {what}, not CSV: save it as CSV (UTF-8)",
                        ProblemCode.NOT_CSV,
                    )
                ]
            )
    if encoding is not None:
        encoding = _codec_name(encoding)
        sha256 = _check_decodes(path, encoding)
    else:
        encoding, sha256 = _detect_encoding(path, head)
    first_line, ended = _first_line(head, encoding)
    if not ended and size > len(head):
        # The first read holds no line end: the header runs past it (or this is not CSV).
        raise UnreadableFile(
            [
                ImportProblem(
                    1,
                    None,
                    f"header too long: the first line is longer than {_CHUNK:,} bytes; "
                    "is this a CSV file with one line per row?",
                    ProblemCode.HEADER_TOO_LONG,
                )
            ]
        )
    delimiter = sniff_delimiter(first_line)
    header = _read_header(first_line, delimiter, limits.max_field)
    return CsvSource(path, encoding, delimiter, header, size, sha256, limits)


def _codec_name(name: str) -> str:
    try:
        info = codecs.lookup(name)
    except LookupError:
        raise UnreadableFile(
            [
                ImportProblem(
                    None,
                    None,
                    f"unknown encoding {name!r} (try utf-8, cp1252, latin-1)",
                    ProblemCode.UNKNOWN_ENCODING,
                )
            ]
        ) from None
    return "utf-8-sig" if info.name == "utf-8" else info.name


def _detect_encoding(path: Path, head: bytes) -> tuple[str, str]:
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name, _check_decodes(path, name)
    try:
        return "utf-8", _check_decodes(path, "utf-8")
    except _Undecodable as utf8_failure:
        if _has_valid_utf8_text(path):
            # Mostly UTF-8 with a few broken bytes: say where, rather than guess and garble.
            raise utf8_failure from None
    try:
        return "cp1252", _check_decodes(path, "cp1252")
    except _Undecodable as exc:
        raise UnreadableFile(
            [
                ImportProblem(
                    exc.problems[0].line,
                    None,
                    "the file is neither UTF-8 nor Windows-1252 text; if it is CSV, name its "
                    "encoding with --encoding",
                    ProblemCode.UNDECODABLE,
                )
            ]
        ) from None


def _has_valid_utf8_text(path: Path) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            text = decoder.decode(chunk)
            if not text.replace("\ufffd", "").isascii():
                return True
    return False


def _check_decodes(path: Path, encoding: str) -> str:
    """Decode the whole file strictly; return its sha256 or raise with the failing line.
    NUL characters (binary junk, or a spreadsheet saved in the wrong format) fail too."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    digest = hashlib.sha256()
    lines_before = 0
    nul_problems: list[ImportProblem] = []
    with path.open("rb") as fh:
        while True:
            chunk = fh.read(_CHUNK)
            final = not chunk
            try:
                text = decoder.decode(chunk, final=final)
            except UnicodeDecodeError as exc:
                good = exc.object[: exc.start].decode(encoding, errors="replace")
                line = lines_before + good.count("\n") + 1
                bad = exc.object[exc.start : exc.start + 1].hex().upper()
                raise _Undecodable(
                    [
                        ImportProblem(
                            line,
                            None,
                            f"byte 0x{bad} cannot be read as {encoding}; "
                            "name the file's encoding with --encoding (e.g. cp1252)",
                            ProblemCode.UNDECODABLE,
                        )
                    ]
                ) from None
            digest.update(chunk)
            if "\x00" in text:
                offset = 0
                while (offset := text.find("\x00", offset)) >= 0:
                    line = lines_before + text.count("\n", 0, offset) + 1
                    if not nul_problems or nul_problems[-1].line != line:
                        nul_problems.append(
                            ImportProblem(
                                line,
                                None,
                                "contains a NUL byte (binary data, not CSV text; a UTF-16 file "
                                "without a byte order mark needs --encoding utf-16)",
                                ProblemCode.NUL_BYTE,
                            )
                        )
                    offset = text.find("\n", offset)
                    if offset < 0 or len(nul_problems) >= MAX_PROBLEMS_PER_SOURCE:
                        break
            lines_before += text.count("\n")
            if final:
                break
    if nul_problems:
        raise UnreadableFile(nul_problems)
    return digest.hexdigest()


def _first_line(head: bytes, encoding: str) -> tuple[str, bool]:
    """The first line of `head`, and whether it ends within `head`."""
    text = head.decode(encoding, errors="ignore").lstrip("\ufeff")
    # Only CR and LF end a CSV line (str.splitlines would also split at form feeds, U+2028...).
    parts = _LINE_END.split(text, maxsplit=1)
    return parts[0], len(parts) > 1


def sniff_delimiter(line: str) -> str:
    """The delimiter that splits the header line into the most columns (comma on a tie)."""
    counts = {d: _count_outside_quotes(line, d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _count_outside_quotes(line: str, delimiter: str) -> int:
    count, quoted = 0, False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif char == delimiter and not quoted:
            count += 1
    return count


def _read_header(first_line: str, delimiter: str, max_field: int) -> tuple[str, ...]:
    # The csv module's field limit is global: set it for this file, not the previous one.
    csv.field_size_limit(max_field)
    try:
        fields = next(csv.reader([first_line], delimiter=delimiter, strict=True))
    except (csv.Error, StopIteration):
        raise UnreadableFile(
            [ImportProblem(1, None, "the header line is not valid CSV", ProblemCode.BAD_HEADER)]
        ) from None
    header = tuple(field.strip() for field in fields)
    if not any(header):
        raise UnreadableFile(
            [ImportProblem(1, None, "the first line has no column names", ProblemCode.BAD_HEADER)]
        )
    return header
