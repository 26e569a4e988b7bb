"""The anonymous ballot export: every answer, ballots in random order, safe to open in a spreadsheet."""
import csv
import io
import secrets

from sqlalchemy import select

from evalapp.core.db import db
from evalapp.core.errors import Refused
from evalapp.questionnaires.models import Item, Option
from evalapp.results.operations import digest_of_sorted_answers, text_fingerprint
from evalapp.results.statistics import MIN_GROUP_SIZE
from evalapp.voting.models import Answer, Ballot, TextAnswer

#: A free-text answer has no option id; its text stands in the "option" column.
HEADER = ["ballot_id", "item_id", "item", "option_id", "option"]
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


def ballots_csv(campaign):
    """Return the campaign's ballots as CSV text (UTF-8 with BOM for Excel), ballots shuffled."""
    if campaign.result.turnout < MIN_GROUP_SIZE:
        # Individual ballots of two or three voters would undo the small-group protection.
        raise Refused(f"参评人数少于 {MIN_GROUP_SIZE} 人，为保护投票秘密，不提供选票导出。", 403)
    options = db.session.execute(
        select(Answer.ballot_id, Item.id, Item.prompt, Option.id, Option.label)
        .join(Ballot, Answer.ballot_id == Ballot.id).join(Item, Answer.item_id == Item.id)
        .join(Option, Answer.option_id == Option.id)
        .where(Ballot.campaign_id == campaign.id))
    texts = db.session.execute(
        select(TextAnswer.ballot_id, Item.id, Item.prompt, TextAnswer.body)
        .join(Ballot, TextAnswer.ballot_id == Ballot.id).join(Item, TextAnswer.item_id == Item.id)
        .where(Ballot.campaign_id == campaign.id))
    ballots = {}
    for ballot_id, item_id, prompt, option_id, label in options:
        ballots.setdefault(ballot_id, []).append((ballot_id, item_id, spreadsheet_safe(prompt), option_id,
                                                  spreadsheet_safe(label)))
    for ballot_id, item_id, prompt, body in texts:
        ballots.setdefault(ballot_id, []).append((ballot_id, item_id, spreadsheet_safe(prompt), "",
                                                  reversible_safe(body)))
    order = list(ballots)
    secrets.SystemRandom().shuffle(order)  # storage order must never leak into the export
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for ballot_id in order:
        writer.writerows(sorted(ballots[ballot_id], key=lambda row: (row[1], row[3] or 0)))
    return out.getvalue()


def digest_of_export(text):
    """Recompute the ballot digest from an export made by `ballots_csv`."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if reader.fieldnames != HEADER:
        raise ValueError("not a ballot export: the header differs")
    answers = sorted((row["ballot_id"], int(row["item_id"]), int(row["option_id"]) if row["option_id"] else 0,
                      row["option"]) for row in reader)
    return digest_of_sorted_answers(
        (ballot_id, item_id, option_id if option_id else text_fingerprint(restore_text(text)))
        for ballot_id, item_id, option_id, text in answers)
