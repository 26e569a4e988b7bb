"""Cells that no spreadsheet evaluates: exports stay safe against formula injection."""

#: Characters that make a spreadsheet treat a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """Return `value` so that no spreadsheet evaluates it: text that looks like a formula gets a quote."""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def reversible_safe(text):
    """Like `spreadsheet_safe`, but a leading quote is also quoted, so `restore_text` gets the text back exactly."""
    return "'" + text if text.startswith(FORMULA_STARTS + ("'",)) else text


def restore_text(cell):
    return cell[1:] if cell.startswith("'") else cell
