"""Imports every model module so that metadata is complete (for Alembic and the schema test)."""
from evalapp.accounts import models as _accounts  # noqa: F401
from evalapp.campaigns import models as _campaigns  # noqa: F401
from evalapp.core import audit as _audit  # noqa: F401
from evalapp.core import job_records as _job_records  # noqa: F401
from evalapp.duty_reports import models as _duty_reports  # noqa: F401
from evalapp.notifications import models as _notifications  # noqa: F401
from evalapp.questionnaires import models as _questionnaires  # noqa: F401
from evalapp.rectification import models as _rectification  # noqa: F401
from evalapp.results import models as _results  # noqa: F401
from evalapp.reviews import models as _reviews  # noqa: F401
from evalapp.rosters import models as _rosters  # noqa: F401
from evalapp.suggestions import models as _suggestions  # noqa: F401
from evalapp.unions import events as _member_events  # noqa: F401
from evalapp.unions import models as _unions  # noqa: F401
from evalapp.voting import models as _voting  # noqa: F401
