"""The schema comes only from migrations, and the migrations match the models."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from evalapp.core.db import db
from evalapp.unions.models import Union


def test_migrated_schema_matches_models(database):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_subtree_filter_selects_the_union_and_everything_below(world):
    below_county = set(db.session.scalars(db.select(Union.name).where(Union.subtree_filter(world.county))))
    assert below_county == {"新会区总工会", "会城街道总工会", "甲公司工会"}
    assert world.union_a.is_within(world.city) and not world.union_a.is_within(world.other_county)
