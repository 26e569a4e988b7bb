"""Reading roster files by content: CSV (UTF-8 with or without BOM, GB18030, UTF-16) and XLSX.

`open_roster` finds the header row, maps the Chinese column names to positions and yields the data
rows as lists of strings with their row numbers as a spreadsheet shows them (the header's row + 1…).
Every way a file can be broken (quoting, encoding, a damaged workbook) becomes a `Refused` naming
the row or the file, never an exception from the parser.

Memory stays bounded whatever the file: `check_upload` (the web request) reads at most the first
megabyte of a CSV and only the directory of an XLSX, never its sheets; the import job parses
spreadsheets, and only those whose members unpack to a sane size (`check_xlsx_container`), with
CSV lines of bounded length.
"""
import codecs
import csv
import io
import logging
import warnings
import zipfile
from dataclasses import dataclass, field

import openpyxl

from evalapp.core.errors import Refused
from evalapp.unions.operations import normalise_text

NAME, PHONE, ID_NUMBER, UNION, UNION_CODE = "姓名", "手机号", "身份证号", "工会", "工会代码"
COLUMNS = (NAME, PHONE, ID_NUMBER, UNION)
#: The columns read; a union code (工会代码) may stand instead of the union's name, and wins over it.
READ_COLUMNS = (*COLUMNS, UNION_CODE)
#: Other spellings seen in exported rosters.
ALIASES = {"身份证号码": ID_NUMBER, "身份证": ID_NUMBER, "公民身份号码": ID_NUMBER, "手机号码": PHONE, "手机": PHONE,
           "工会名称": UNION, "所属工会": UNION}
#: The header must be among the first rows (a title row above it is common in Excel rosters).
HEADER_SEARCH_ROWS = 10
MAX_ROWS = 2_000_000
SNIFF_BYTES = 1 << 20
#: A CSV line longer than this is no roster row (a line of millions of commas would be a list of
#: millions of cells in memory).
MAX_LINE_BYTES = 64 * 1024
#: What an XLSX may unpack to. A decompression bomb is a few hundred KB that unpacks to gigabytes;
#: the sizes a zip declares for its members are also what zipfile lets them unpack to.
XLSX_MAX_UNPACKED = 1 << 30  # all members together (a 700,000-member sheet is about 200 MB)
XLSX_MAX_SHARED_STRINGS = 128 << 20  # openpyxl keeps every shared string in memory
#: Parts other than worksheets (streamed) and shared strings are parsed whole into objects: styles,
#: the workbook. Even at Excel's limit of 64,000 cell formats, styles.xml stays under 10 MB.
XLSX_MAX_OTHER_PART = 16 << 20
XLSX_MAX_RATIO = 100  # real sheets compress 5 to 20 times; deflate can reach 1,000
XLSX_RATIO_FROM = 1 << 20  # small members may compress as they like
XLSX_MAX_MEMBERS = 10_000
#: How the parser marks an ID number that Excel stored as a number (its last digits are lost).
STORED_AS_NUMBER = "数字"

XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls
UNREADABLE_XLSX = "无法读取该 Excel 文件，请确认它是 .xlsx 格式且没有加密。"
XLSX_BOMB = ("该 Excel 文件解压后过大或压缩比异常（可能是恶意构造的文件），无法导入。"
             "请在 Excel 中另存为新文件，或导出为 CSV 后再导入。")
UNKNOWN_ENCODING = "无法识别文件的文字编码，请把文件另存为 UTF-8 或 GB18030（GBK）编码的 CSV，或 Excel（.xlsx）文件。"

logger = logging.getLogger(__name__)


def detect_format(path):
    """Return "csv" or "xlsx" from the file's content, or refuse a file that is neither."""
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if not head.strip():
        raise Refused("文件是空的。", 400)
    if head.startswith(XLSX_MAGIC):
        return "xlsx"
    if head.startswith(OLE_MAGIC):
        raise Refused("不支持旧版 Excel（.xls）文件，请在 Excel 中另存为 .xlsx 或 CSV 后再导入。", 400)
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise Refused("无法识别的文件格式，请上传 CSV 或 Excel（.xlsx）文件。", 400)
    return "csv"


def check_upload(path, union_required):
    """Return the format of an uploaded roster after the checks a web request can afford.

    A CSV's header is read from its first megabyte; an XLSX is only looked into (its members'
    sizes), its header is found by the import job, the only place that parses spreadsheets.
    """
    file_format = detect_format(path)
    if file_format == "xlsx":
        check_xlsx_container(path)
    else:
        with open(path, "rb") as handle:
            head = handle.read(SNIFF_BYTES)
        encoding = _csv_encoding(head)
        text = codecs.getincrementaldecoder(encoding)().decode(head, final=False)
        rows = _guard(enumerate(_csv_reader(io.StringIO(text, newline=""), text), start=1), file_format)
        _find_header(rows, union_required)
    return file_format


def check_xlsx_container(path):
    """Refuse an XLSX that is no zip, or whose members would unpack to too much (a decompression bomb)."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError):
        raise Refused(UNREADABLE_XLSX, 400) from None
    if len(members) > XLSX_MAX_MEMBERS:
        raise Refused(XLSX_BOMB, 400)
    total = 0
    for member in members:
        total += member.file_size
        name = member.filename.lower()
        if name.startswith("xl/worksheets/"):
            limit = XLSX_MAX_UNPACKED
        elif name.endswith("sharedstrings.xml"):
            limit = XLSX_MAX_SHARED_STRINGS
        else:
            limit = XLSX_MAX_OTHER_PART
        ratio_too_high = member.file_size > XLSX_RATIO_FROM and member.file_size > XLSX_MAX_RATIO * member.compress_size
        if ratio_too_high or member.file_size > limit or total > XLSX_MAX_UNPACKED:
            logger.info("xlsx refused: %s unpacks to %s bytes from %s", member.filename, member.file_size,
                        member.compress_size)
            raise Refused(XLSX_BOMB, 400)


def _csv_encoding(head):
    """Return the codec for a CSV file from its first bytes: BOMs first, then UTF-8, else GB18030.

    Refuses a file whose first bytes neither decodes.
    """
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    furthest = 0
    for encoding in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(head, final=False)
        except UnicodeDecodeError as error:
            furthest = max(furthest, error.start)
            continue
        return encoding
    # The encoding that got further is the file's; the byte it stopped at is the culprit.
    line = head[:furthest].count(b"\n") + 1
    raise Refused(f"第 {line} 行有无法识别的字符。{UNKNOWN_ENCODING}", 400)


@dataclass
class Roster:
    """An open roster file: column positions, an estimate of the data rows, and the rows."""

    columns: dict
    total_estimate: int | None
    _rows: object = field(repr=False)
    _close: object = field(repr=False, default=None)

    def rows(self):
        """Yield (row number, cells) for every data row; blank rows are skipped by the checker."""
        return self._rows

    def close(self):
        if self._close is not None:
            self._close()

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        self.close()


def open_roster(path, file_format, union_required):
    """Open `path` and read its header; refuse a file without the required columns."""
    if file_format == "xlsx":
        rows, total, close = _xlsx_rows(path)
    else:
        rows, total, close = _csv_rows(path)
    rows = _guard(rows, file_format)
    try:
        header_row, columns = _find_header(rows, union_required)
    except BaseException:
        close()
        raise
    if total is not None:
        total = max(total - header_row, 0)
    return Roster(columns, total, rows, close)


def open_table(path):
    """Open a CSV or XLSX file of any columns; return (rows, close) with rows as `Roster.rows` yields them."""
    file_format = detect_format(path)
    rows, _total, close = _xlsx_rows(path) if file_format == "xlsx" else _csv_rows(path)
    return _guard(rows, file_format), close


def find_header(rows, column_of, is_header, expected):
    """Return (row number, {column: position}) of the header among the first rows; refuse a column named twice.

    `column_of(cell)` names the column a header cell stands for (None: not one we read), `is_header`
    tells a header row by its columns, and `expected` lists the columns the refusal names.
    """
    multiline = None
    for row_no, cells in rows:
        names = [column_of(cell) for cell in cells]
        if is_header(names):
            columns = {}
            for position, name in enumerate(names):
                if name is not None:
                    if name in columns:
                        raise Refused(f"表头中“{name}”列出现了不止一次。", 400)
                    columns[name] = position
            return row_no, columns
        if multiline is None and any("\n" in cell for cell in cells):
            multiline = row_no
        if row_no >= HEADER_SEARCH_ROWS:
            break
    if multiline is not None:
        # Most likely a quote opened and never closed: every line after it became one cell.
        raise Refused(f"找不到表头：第 {multiline} 行的引号可能没有配对，其后的内容都被当成了同一格。"
                      "请删除或补全该行的引号后再导入。", 400)
    raise Refused(f"找不到表头：文件的第一行应为列名（{'、'.join(expected)}）。", 400)


def _roster_column(cell):
    name = normalise_text(cell).lstrip("\ufeff")
    name = ALIASES.get(name, name)
    return name if name in READ_COLUMNS else None


def _find_header(rows, union_required):
    """Return (row number, {column: position}) of a roster's header row, with its required columns."""
    row_no, columns = find_header(rows, _roster_column, lambda names: ID_NUMBER in names or NAME in names, COLUMNS)
    required = (NAME, PHONE, ID_NUMBER, UNION) if union_required else (NAME, PHONE, ID_NUMBER)
    missing = [name for name in required if name not in columns and not (name == UNION and UNION_CODE in columns)]
    if missing:
        hint = "（“工会”列也可以换成“工会代码”列）" if union_required else "（本工会是基层工会，“工会”列可以省略）"
        raise Refused(f"文件缺少必需的列：{'、'.join(missing)}。表头应包含：{'、'.join(required)}{hint}。", 400)
    return row_no, columns


def _guard(rows, file_format):
    """Turn decoding, CSV and workbook errors anywhere in a file into refusals naming the row."""
    row_no = 0
    try:
        for row_no, cells in rows:
            if row_no > MAX_ROWS:
                raise Refused(f"文件超过 {MAX_ROWS:,} 行，请拆分后分别导入。", 400)
            yield row_no, cells
    except Refused:
        raise
    except UnicodeDecodeError as error:
        raise Refused(f"第 {row_no + 1} 行附近有无法识别的字符，请把文件另存为 UTF-8 或 GB18030 编码的 CSV。", 400) from error
    except csv.Error as error:
        raise Refused(f"第 {row_no + 1} 行附近的 CSV 格式有误，请检查引号是否配对。", 400) from error
    except Exception as error:
        if file_format != "xlsx":
            raise
        # Only the workbook reader runs inside this try (the consumer's code runs outside the generator).
        logger.info("xlsx unreadable after row %s", row_no, exc_info=True)
        raise Refused(f"Excel 文件第 {row_no + 1} 行附近的内容无法读取，文件可能已损坏。"
                      "请在 Excel 中另存为新文件，或导出为 CSV 后再导入。", 400) from error


def _csv_rows(path):
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
    encoding = _csv_encoding(head)
    lines = _count_lines(path)
    handle = open(path, encoding=encoding, newline="")  # closed by Roster.close
    first_line = head.split(b"\n", 1)[0].decode(encoding, errors="replace")
    return enumerate(_csv_reader(handle, first_line), start=1), lines, handle.close


def _csv_reader(handle, first_line):
    delimiter = max((",", "\t", ";"), key=first_line.split("\n", 1)[0].count)
    return csv.reader(handle, delimiter=delimiter)


def _count_lines(path):
    """Return the number of lines (an estimate of the rows: quoted fields may hold line breaks).

    Refuses a file with a line longer than MAX_LINE_BYTES.
    """
    lines = current = last = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            parts = chunk.split(b"\n")
            lengths = [current + len(parts[0]), *map(len, parts[1:])]
            if max(lengths) > MAX_LINE_BYTES:
                line = lines + 1 + next(i for i, length in enumerate(lengths) if length > MAX_LINE_BYTES)
                raise Refused(f"第 {line} 行过长（超过 {MAX_LINE_BYTES // 1024} KB），这不像花名册的一行；"
                              "请检查文件是否为 CSV 格式。", 400)
            lines += len(parts) - 1
            current = lengths[-1]
            last = chunk[-1]
    return lines + (last != ord("\n"))


def _xlsx_rows(path):
    check_xlsx_container(path)
    handle = open(path, "rb")  # a file object: openpyxl would refuse a stored name without ".xlsx"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles and extensions it skips
            workbook = openpyxl.load_workbook(handle, read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        total = sheet.max_row
        sheet.reset_dimensions()  # some writers record a wrong sheet size; read every row instead
    except Exception as error:
        handle.close()
        raise Refused(UNREADABLE_XLSX, 400) from error
    rows = ((row_no, [_text(value) for value in values])
            for row_no, values in enumerate(sheet.iter_rows(values_only=True), start=1))

    def close():
        workbook.close()
        handle.close()

    return rows, total, close


def _text(value):
    """Return a cell's value as text; numbers typed into Excel (phone numbers) lose their ".0"."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and abs(value) >= 10**15:
        # An 18-digit ID number stored as a number keeps only ~15 significant digits: the rest is
        # noise that can even pass the check digit. Make it fail every check instead.
        return f"{STORED_AS_NUMBER}{value:.15G}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
