"""The anonymous export, the digest check, and a walk through every page looking for a voter's ballot."""
import csv
import io
import re
from html import unescape

from sqlalchemy import select, text

from evalapp.core.db import db
from evalapp.questionnaires.models import ItemKind
from evalapp.questionnaires.operations import add_item, create_questionnaire
from evalapp.voting.models import Ballot
from tests.factories import build_world, make_campaign, vote

FULL = [[1, 1, 1], [2, 3, 4], [3, 2, 5], [1, 1, 2], [2, 2, 3]]


def export_rows(client, campaign):
    response = client.get(f"/campaigns/{campaign.id}/ballots.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_the_export_lists_every_answer_and_nothing_about_voters(world, login):
    campaign = make_campaign(world, "published", votes=FULL)
    rows = export_rows(login("county_officer"), campaign)
    assert len(rows) == 15 and len({row["ballot_id"] for row in rows}) == 5
    assert set(rows[0]) == {"ballot_id", "item_id", "item", "option_id", "option"}
    flat = " ".join(" ".join(row.values()) for row in rows)
    assert not any(name in flat for name in ["会员1", "会员2", "m1", "主席甲"])
    assert not re.search(r"20\d\d-\d\d-\d\d", flat)


def test_the_export_is_safe_to_open_in_a_spreadsheet(world, login):
    form = create_questionnaire(world.city, "带公式的题目")
    add_item(form, ItemKind.satisfaction3, "=HYPERLINK(\"http://evil.example\",\"点我\")")
    db.session.commit()
    campaign = make_campaign(world, "published", form=form, votes=[[1]] * 5)
    rows = export_rows(login("county_officer"), campaign)
    assert {row["item"] for row in rows} == {"'=HYPERLINK(\"http://evil.example\",\"点我\")"}


def test_only_officers_of_the_subtree_export_ballots(world, login):
    published = make_campaign(world, "published", votes=FULL)
    for username in ("m1", "chair", "outsider", "other_officer"):
        assert login(username).get(f"/campaigns/{published.id}/ballots.csv").status_code == 404
    closed = make_campaign(world, "closed", votes=FULL)
    assert login("county_officer").get(f"/campaigns/{closed.id}/ballots.csv").status_code == 404


def another_option(campaign, item_id, option_id):
    """Return the id of an option of the same item other than `option_id`."""
    item = next(item for item in campaign.questionnaire.items if item.id == int(item_id))
    return next(option.id for option in item.options if option.id != int(option_id))


def test_verify_command_recomputes_the_digest_from_database_and_export(app, world, login, tmp_path):
    campaign = make_campaign(world, "published", votes=FULL)
    text_export = login("county_officer").get(f"/campaigns/{campaign.id}/ballots.csv").get_data(as_text=True)
    export = tmp_path / "ballots.csv"
    export.write_text(text_export, encoding="utf-8")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["results", "verify", str(campaign.id), "--export", str(export)])
    assert result.exit_code == 0 and result.output.count("matches") == 2

    rows = list(csv.reader(io.StringIO(text_export.lstrip("\ufeff"))))
    rows[1][3] = str(another_option(campaign, rows[1][1], rows[1][3]))  # one answer changed in the file
    tampered = tmp_path / "tampered.csv"
    with tampered.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    result = runner.invoke(args=["results", "verify", str(campaign.id), "--export", str(tampered)])
    assert result.exit_code == 1 and "from the export   " in result.output and "DIFFERS" in result.output


def test_verify_command_detects_a_ballot_changed_in_the_database(app, world):
    campaign = make_campaign(world, "published", votes=FULL)
    ballot_id, item_id, option_id = db.session.execute(
        text("SELECT a.ballot_id, a.item_id, a.option_id FROM answers a JOIN ballots b ON a.ballot_id = b.id "
             "WHERE b.campaign_id = :c LIMIT 1"), {"c": campaign.id}).one()
    db.session.execute(text("UPDATE answers SET option_id = :o WHERE ballot_id = :b AND item_id = :i"),
                       {"o": another_option(campaign, item_id, option_id), "b": ballot_id, "i": item_id})
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["results", "verify", str(campaign.id)])
    assert result.exit_code == 1 and "DIFFERS" in result.output


def test_no_page_or_export_ties_a_ballot_to_its_voter(login):
    world = build_world(member_count=30)
    campaign = make_campaign(world, "open")
    cast_order = []
    for position, member in enumerate(world.members):
        before = set(db.session.scalars(select(Ballot.id)))
        vote(campaign, member, [position % 3 + 1, (position // 3) % 3 + 1, position % 5 + 1])
        db.session.commit()
        cast_order += list(set(db.session.scalars(select(Ballot.id))) - before)
    from evalapp.campaigns.operations import close_voting, publish

    close_voting(campaign, world.county_officer)
    publish(campaign, world.county_officer)
    db.session.commit()
    receipts = set(db.session.scalars(select(Ballot.receipt_hash)))

    for username in ("admin", "county_officer"):
        client = login(username)
        seen, queue, pages = set(), ["/"], []
        while queue and len(seen) < 200:
            path = queue.pop()
            if path in seen:
                continue
            seen.add(path)
            response = client.get(path)
            body = response.get_data(as_text=True)
            if response.mimetype == "text/html":
                pages.append(body)
                queue += [unescape(link) for link in re.findall(r'href="(/[^"#]*)"', body)
                          if not link.startswith(("/static/", "/logout")) and not re.search(r"\.(pdf|csv|xlsx)\b", link)]
        assert f"/campaigns/{campaign.id}/result" in seen
        everything = "\n".join(pages)
        assert not any(ballot_id in everything for ballot_id in cast_order)
        assert not any(receipt in everything for receipt in receipts)

        exported = [row["ballot_id"] for row in export_rows(client, campaign)]
        exported_order = list(dict.fromkeys(exported))
        assert sorted(exported_order) == sorted(cast_order)
        assert exported_order != cast_order  # 30 ballots: equal by chance with probability 1/30!
    assert sorted(cast_order) != cast_order  # random ids are not ordered like the votes


def test_no_ballot_export_for_fewer_than_five_voters(world, login):
    campaign = make_campaign(world, "published", votes=FULL[:4])
    response = login("county_officer").get(f"/campaigns/{campaign.id}/ballots.csv")
    assert response.status_code == 403 and "为保护投票秘密" in response.get_data(as_text=True)
