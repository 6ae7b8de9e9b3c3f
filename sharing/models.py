"""The sharing app's models, for Django: the tenancy models (kernel, `pause_portal.tenancy.models`,
app label "sharing"), the agreement and scoping models, and the delivery models. Import them from
the module that defines them; this one only registers them.
"""

from __future__ import annotations

from pause_portal.tenancy.models import (  # noqa: F401
    AccountLink,
    AccountLinkPurpose,
    Membership,
    MembershipStatus,
    Organisation,
    Person,
    PersonManager,
    PersonQuerySet,
    Phase,
    Programme,
    SignedInSession,
)
from sharing.models_caldicott import CaldicottDecision  # noqa: F401
from sharing.models_delivery import (  # noqa: F401
    CaseloadAssignment,
    CaseloadGroupObjectPermission,
    CaseloadUserObjectPermission,
    ContactAttempt,
    DeliveryRelease,
    QuarterlyReport,
    ReleasedChild,
    ReleasedWoman,
    RetentionRun,
    SafeguardingConcern,
)
from sharing.models_dpia import DpiaReview, DpiaRisk  # noqa: F401
from sharing.models_markers import DoNotApproachMarker, MarkerKind  # noqa: F401
from sharing.models_notices import Controller, PrivacyNotice  # noqa: F401
from sharing.models_powers import StatutoryPower  # noqa: F401
from sharing.models_scoping import (  # noqa: F401
    Agreement,
    ChangeStatus,
    DeletionCertificate,
    FinalReport,
    PhaseChange,
    ReportStatus,
    ScopingChildRow,
    ScopingExport,
    ScopingNote,
    ScopingRelease,
    ScopingReminder,
    ScopingWomanRow,
)
