"""The anonymous ballot export: every answer, ballots in random order, safe to open in a spreadsheet."""
import csv
import io
import secrets

from sqlalchemy import select

from evalapp.core.db import db
from evalapp.core.errors import Refused
from evalapp.questionnaires.models import Item, Option
from evalapp.results.operations import digest_of_sorted_answers
from evalapp.results.statistics import MIN_GROUP_SIZE
from evalapp.voting.models import Answer, Ballot

HEADER = ["ballot_id", "item_id", "item", "option_id", "option"]
#: Characters that make a spreadsheet treat a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """Return `value` so that no spreadsheet evaluates it: text that looks like a formula gets a quote."""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def ballots_csv(campaign):
    """Return the campaign's ballots as CSV text (UTF-8 with BOM for Excel), ballots shuffled."""
    if campaign.result.turnout < MIN_GROUP_SIZE:
        # Individual ballots of two or three voters would undo the small-group protection.
        raise Refused(f"参评人数少于 {MIN_GROUP_SIZE} 人，为保护投票秘密，不提供选票导出。", 403)
    rows = db.session.execute(
        select(Answer.ballot_id, Item.id, Item.prompt, Option.id, Option.label)
        .join(Ballot, Answer.ballot_id == Ballot.id).join(Item, Answer.item_id == Item.id)
        .join(Option, Answer.option_id == Option.id)
        .where(Ballot.campaign_id == campaign.id).order_by(Answer.ballot_id, Item.id))
    ballots = {}
    for row in rows:
        ballots.setdefault(row[0], []).append(row)
    order = list(ballots)
    secrets.SystemRandom().shuffle(order)  # storage order must never leak into the export
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for ballot_id in order:
        writer.writerows([spreadsheet_safe(cell) for cell in row] for row in ballots[ballot_id])
    return out.getvalue()


def digest_of_export(text):
    """Recompute the ballot digest from an export made by `ballots_csv`."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if reader.fieldnames != HEADER:
        raise ValueError("not a ballot export: the header differs")
    answers = sorted((row["ballot_id"], int(row["item_id"]), int(row["option_id"])) for row in reader)
    return digest_of_sorted_answers(answers)
