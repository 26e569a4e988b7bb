"""The anonymous ballot export: every answer, ballots in random order, safe to open in a spreadsheet."""
import csv
import io
import secrets

from sqlalchemy import select

from evalapp.core.db import db
from evalapp.core.errors import Refused
from evalapp.core.spreadsheets import restore_text, reversible_safe, spreadsheet_safe
from evalapp.questionnaires.models import Item, Option
from evalapp.results.operations import digest_of_listing
from evalapp.voting.models import Answer, Ballot, TextAnswer

#: Free-text answers come after the ballots, without ballot or option id; the text is in "option".
HEADER = ["ballot_id", "item_id", "item", "option_id", "option"]
def ballot_rows(campaign):
    """Return the rows of the anonymous ballot export (after HEADER), ballots shuffled; None is an empty cell.

    First every ballot's choices (a ballot without answers is one row with only its id), in random
    order; then the free-text answers without any ballot id, sorted by item and text, as they are
    stored: apart from the ballots.
    """
    result = campaign.result
    if not result.figures_shown:
        # Individual ballots of a few voters would undo the small-group protection; a void result
        # publishes no breakdown, so its ballots are not published either.
        raise Refused(f"{result.withheld_reason}不提供选票导出。", 403)
    ballots = {ballot_id: [] for ballot_id in db.session.scalars(
        select(Ballot.id).where(Ballot.campaign_id == campaign.id))}
    options = db.session.execute(
        select(Answer.ballot_id, Item.id, Item.prompt, Option.id, Option.label)
        .join(Item, Answer.item_id == Item.id).join(Option, Answer.option_id == Option.id)
        .where(Answer.campaign_id == campaign.id).order_by(Item.id, Option.id))
    for ballot_id, item_id, prompt, option_id, label in options:
        ballots[ballot_id].append((ballot_id, item_id, spreadsheet_safe(prompt), option_id, spreadsheet_safe(label)))
    texts = db.session.execute(
        select(Item.id, Item.prompt, TextAnswer.body).join(Item, TextAnswer.item_id == Item.id)
        .where(TextAnswer.campaign_id == campaign.id)
        .order_by(Item.id, TextAnswer.body.collate("C") if db.engine.dialect.name == "postgresql" else TextAnswer.body))
    order = list(ballots)
    secrets.SystemRandom().shuffle(order)  # storage order must never leak into the export
    rows = []
    for ballot_id in order:
        rows.extend(ballots[ballot_id] or [(ballot_id, None, None, None, None)])
    rows.extend((None, item_id, spreadsheet_safe(prompt), None, reversible_safe(body)) for item_id, prompt, body in texts)
    return rows


def ballots_csv(campaign):
    """Return the anonymous ballot export as CSV text (UTF-8 with BOM for Excel)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)  # None becomes an empty field
    writer.writerow(HEADER)
    writer.writerows(ballot_rows(campaign))
    return out.getvalue()


def digest_of_export(text):
    """Recompute the ballot digest from an export made by `ballots_csv` (see `digest_of_listing`)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    if reader.fieldnames != HEADER:
        raise ValueError("not a ballot export: the header differs")
    ballots, texts = {}, []
    for row in reader:
        if row["ballot_id"]:
            answers = ballots.setdefault(row["ballot_id"], [])
            if row["item_id"]:
                answers.append((int(row["item_id"]), int(row["option_id"])))
        else:
            texts.append((int(row["item_id"]), restore_text(row["option"])))
    return digest_of_listing(((ballot_id, sorted(ballots[ballot_id])) for ballot_id in sorted(ballots)), texts)


# --- Tallies, and every export as XLSX -------------------------------------------------------------

#: Columns of the tally: one row per option (a free-text item: one row without an option), with its
#: item's published figures repeated, so that a script can check them from the ballots alone.
TALLY_HEADER = ["item_position", "item_id", "item", "kind", "dimension", "weight", "scored", "option_id", "option",
                "score", "satisfied", "count", "answered", "rate", "rate_low", "rate_high", "mean", "mean_low",
                "mean_high", "item_score"]


def tally_facts(campaign):
    """Return the campaign's published facts as (label, value) pairs; numbers stay numbers, None is empty."""
    result = campaign.result
    return [("campaign_id", campaign.id), ("title", spreadsheet_safe(campaign.title)),
            ("union", spreadsheet_safe(campaign.union.name)), ("electorate", result.electorate_size),
            ("turnout", result.turnout), ("quorum_required", result.quorum_required),
            ("quorum_met", "yes" if result.quorum_met else "no"),
            ("overall_score", result.shown_overall_score), ("grade", result.shown_grade or ""),
            ("withheld", result.withheld_reason or ""), ("ballot_digest", result.ballot_digest),
            ("published_at_utc", campaign.published_at.isoformat(timespec="seconds"))]


def tally_rows(campaign):
    """Return the tally's rows; none when the result's figures are withheld (Result.figures_shown), and
    none for an item answered by too few (ResultItem.figures_shown).

    Text is spreadsheet-safe; numbers are ints and floats (CSV writes floats as repr, an exact round
    trip), None an empty cell.
    """
    result = campaign.result
    rows = []
    for row in result.items if result.figures_shown else ():
        if not row.figures_shown:
            continue
        item = row.item
        figures = [row.answered, row.rate, row.rate_low, row.rate_high, row.mean_score, row.mean_low, row.mean_high,
                   row.normalised_score]
        head = [row.position, item.id, spreadsheet_safe(item.prompt), item.kind.value, item.dimension or "",
                float(item.weight), "yes" if item.scored else "no"]
        if not item.options:  # free text: one row, its count is the number of answers
            rows.append(head + [None, "", None, "", row.answered] + figures)
        for option in item.options:
            rows.append(head + [option.id, spreadsheet_safe(option.label), float(option.score),
                                "yes" if option.counts_satisfied else "no",
                                row.option_counts.get(str(option.id), 0)] + figures)
    return rows


def tally_csv(campaign):
    """The facts as two-column rows, an empty row, then the tally table (UTF-8 with BOM for Excel)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)  # None becomes an empty field, floats their repr
    writer.writerows(tally_facts(campaign))
    writer.writerow([])
    writer.writerow(TALLY_HEADER)
    writer.writerows(tally_rows(campaign))
    return out.getvalue()


def _xlsx(sheets):
    """Return an XLSX file of [(title, rows)]; every cell is written as a value, never as a formula.

    Text cells are typed as strings even when they start with "=" (and the rows' text is already
    spreadsheet-safe), numbers as numbers, None as an empty cell.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    for title, rows in sheets:
        sheet = workbook.create_sheet(title)
        for row in rows:
            cells = []
            for value in row:
                cell = WriteOnlyCell(sheet, value=value)
                cell.data_type = "s" if isinstance(value, str) else cell.data_type  # "=…" stays text
                cells.append(cell)
            sheet.append(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def tally_xlsx(campaign):
    return _xlsx([("概况", tally_facts(campaign)), ("计票", [TALLY_HEADER] + tally_rows(campaign))])


def ballots_xlsx(campaign):
    """The anonymous ballot export (same rows as `ballots_csv`, shuffled afresh) as XLSX."""
    return _xlsx([("选票", [HEADER] + ballot_rows(campaign))])
