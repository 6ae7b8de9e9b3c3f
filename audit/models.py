"""The audit app's models, for Django. They are defined in the audit core (`audit.core.models`,
`models_refusals`, `models_review`, `models_rights`,
`models_certificates`, `models_pack_spans`, `models_reminders`), with app label "audit"; import them from
there. This module only registers them.
"""

from __future__ import annotations

from audit.core.models import (  # noqa: F401
    AuditChainAnchor,
    AuditEntry,
    AuditEntryManager,
    AuditSeal,
    AuditSubject,
    Event,
)
from audit.core.models_certificates import PurgeCertificate  # noqa: F401
from audit.core.models_pack_spans import PackRedactedSpan  # noqa: F401
from audit.core.models_refusals import RefusalTally  # noqa: F401
from audit.core.models_reminders import Reminder, ReminderRecipient  # noqa: F401
from audit.core.models_review import (  # noqa: F401
    ConflictDeclaration,
    MonitoringCursor,
    MonitoringFlag,
    ReviewSearch,
)
from audit.core.models_rights import (  # noqa: F401
    AffectedWoman,
    Breach,
    ErasureRecord,
    RedactionDecision,
    RequestExtension,
    RightsProposal,
    RightsRequest,
    SuspectedBreach,
)
