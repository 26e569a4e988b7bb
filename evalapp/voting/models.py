"""Participation (who voted) and ballots (what was voted) are separate records.

A ballot carries no voter id, no timestamp and a random id, so nothing in the application links
it to the participation row written in the same transaction. Participation keeps the hour of voting
(not the minute) for the turnout-burst warning; ballots have no time to match it against.
"""
from evalapp.core.db import db


class Participation(db.Model):
    """That a member voted in a campaign; the primary key is the one-ballot rule."""

    __tablename__ = "participations"

    campaign_id = db.Column(db.Integer, db.ForeignKey("campaigns.id"), primary_key=True)
    member_id = db.Column(db.Integer, db.ForeignKey("members.id"), primary_key=True)
    #: The UTC hour the member voted in, truncated; None for participations from before it was kept.
    voted_hour = db.Column(db.DateTime, nullable=True)


class Ballot(db.Model):
    __tablename__ = "ballots"

    #: Random 128-bit hex id: not sequential, not time-ordered.
    id = db.Column(db.String(32), primary_key=True)
    campaign_id = db.Column(db.Integer, db.ForeignKey("campaigns.id"), nullable=False, index=True)
    #: SHA-256 of the voter's receipt code; the code itself is shown once and never stored.
    receipt_hash = db.Column(db.String(64), nullable=False, unique=True)
    # Summaries of this ballot's own answers, derived when it is cast, so that statistics over a
    # million ballots are single aggregates (see results.operations.ballot_summaries):
    #: Weighted mean of the normalised (0–100) scores of the scored items answered; None if none.
    score = db.Column(db.Float, nullable=True)
    #: Unweighted sum of the normalised scores when every scored item was answered (for Cronbach's alpha).
    item_sum = db.Column(db.Float, nullable=True)
    #: Every scored item (two or more) answered with the option in the same position ("straight-lining").
    uniform = db.Column(db.Boolean, nullable=False, default=False)

    campaign = db.relationship("Campaign")
    answers = db.relationship("Answer", back_populates="ballot", cascade="all, delete-orphan")


class Answer(db.Model):
    """One chosen option; a multiple-choice item has one row per ticked option."""

    __tablename__ = "answers"
    #: A tally is one index-only GROUP BY over this index, without joining the ballots.
    __table_args__ = (db.Index("ix_answers_tally", "campaign_id", "item_id", "option_id"),)

    ballot_id = db.Column(db.String(32), db.ForeignKey("ballots.id"), primary_key=True)
    item_id = db.Column(db.Integer, db.ForeignKey("items.id"), primary_key=True)
    option_id = db.Column(db.Integer, db.ForeignKey("options.id"), primary_key=True, index=True)
    campaign_id = db.Column(db.Integer, db.ForeignKey("campaigns.id"), nullable=False)

    ballot = db.relationship("Ballot", back_populates="answers")


class TextAnswer(db.Model):
    """What a member wrote in a free-text item, kept apart from their ballot.

    Free text can identify its writer; without a ballot id it cannot also reveal how they voted.
    It has its own random id, is written in the same transaction as the ballot, and is counted
    and digested per campaign and item.
    """

    __tablename__ = "text_answers"
    __table_args__ = (db.Index("ix_text_answers_campaign_item", "campaign_id", "item_id"),)

    id = db.Column(db.String(32), primary_key=True)
    campaign_id = db.Column(db.Integer, db.ForeignKey("campaigns.id"), nullable=False)
    item_id = db.Column(db.Integer, db.ForeignKey("items.id"), nullable=False)
    body = db.Column(db.Text, nullable=False)
