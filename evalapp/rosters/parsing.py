"""Reading roster files by content: CSV (UTF-8 with or without BOM, GB18030, UTF-16) and XLSX.

`open_roster` finds the header row, maps the Chinese column names to positions and yields the data
rows as lists of strings with their row numbers as a spreadsheet shows them (the header's row + 1…).
"""
import codecs
import csv
import warnings
from dataclasses import dataclass, field

import openpyxl

from evalapp.core.errors import Refused
from evalapp.unions.operations import normalise_text

NAME, PHONE, ID_NUMBER, UNION = "姓名", "手机号", "身份证号", "工会"
COLUMNS = (NAME, PHONE, ID_NUMBER, UNION)
#: Other spellings seen in exported rosters.
ALIASES = {"身份证号码": ID_NUMBER, "身份证": ID_NUMBER, "公民身份号码": ID_NUMBER, "手机号码": PHONE, "手机": PHONE,
           "工会名称": UNION, "所属工会": UNION}
#: The header must be among the first rows (a title row above it is common in Excel rosters).
HEADER_SEARCH_ROWS = 10
MAX_ROWS = 2_000_000
SNIFF_BYTES = 1 << 20

XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls


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


def _csv_encoding(head):
    """Return the codec for a CSV file from its first bytes: BOMs first, then UTF-8, else GB18030."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


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
    try:
        header_row, columns = _find_header(rows, union_required)
    except BaseException:
        close()
        raise
    if total is not None:
        total = max(total - header_row, 0)
    return Roster(columns, total, _guard(rows, file_format), close)


def _find_header(rows, union_required):
    """Return (row number, {column: position}) of the header row."""
    for row_no, cells in rows:
        names = [normalise_text(cell).lstrip("\ufeff") for cell in cells]
        names = [ALIASES.get(name, name) for name in names]
        if ID_NUMBER in names or NAME in names:
            return row_no, _columns(names, union_required)
        if row_no >= HEADER_SEARCH_ROWS:
            break
    raise Refused(f"找不到表头：文件的第一行应为列名（{'、'.join(COLUMNS)}）。", 400)


def _columns(names, union_required):
    columns = {}
    for position, name in enumerate(names):
        if name in COLUMNS:
            if name in columns:
                raise Refused(f"表头中“{name}”列出现了不止一次。", 400)
            columns[name] = position
    required = (NAME, PHONE, ID_NUMBER, UNION) if union_required else (NAME, PHONE, ID_NUMBER)
    missing = [name for name in required if name not in columns]
    if missing:
        hint = "" if union_required else "（本工会是基层工会，“工会”列可以省略）"
        raise Refused(f"文件缺少必需的列：{'、'.join(missing)}。表头应包含：{'、'.join(required)}{hint}。", 400)
    return columns


def _guard(rows, file_format):
    """Turn decoding and CSV errors in the middle of a file into refusals naming the row."""
    row_no = 0
    try:
        for row_no, cells in rows:
            if row_no > MAX_ROWS:
                raise Refused(f"文件超过 {MAX_ROWS:,} 行，请拆分后分别导入。", 400)
            yield row_no, cells
    except UnicodeDecodeError as error:
        raise Refused(f"第 {row_no + 1} 行附近有无法识别的字符，请把文件另存为 UTF-8 或 GB18030 编码的 CSV。", 400) from error
    except csv.Error as error:
        raise Refused(f"第 {row_no + 1} 行附近的 CSV 格式有误，请检查引号是否配对。", 400) from error


def _csv_rows(path):
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
    encoding = _csv_encoding(head)
    first_line = head.split(b"\n", 1)[0].decode(encoding, errors="replace")
    delimiter = max((",", "\t", ";"), key=first_line.count)
    handle = open(path, encoding=encoding, newline="")  # closed by Roster.close
    reader = csv.reader(handle, delimiter=delimiter)
    return enumerate(reader, start=1), _count_lines(path), handle.close


def _count_lines(path):
    """Return the number of lines (an estimate of the rows: quoted fields may hold line breaks)."""
    lines = last = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1]
    return lines + (last != ord("\n"))


def _xlsx_rows(path):
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
        raise Refused("无法读取该 Excel 文件，请确认它是 .xlsx 格式且没有加密。", 400) from error
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
        return f"数字{int(value)}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
