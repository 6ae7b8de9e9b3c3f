"""What an access pack holds: its sections, the third-party items in it and the pack itself. Its
own module so that building a pack (`audit.oversight.access_pack`) and writing it as files
(`audit.oversight.access_pack_files`) import each other in one direction only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from audit.core.models_rights import Redaction, RedactionDecision, RightsRequest


@dataclass
class Section:
    key: str  # the CSV file's name
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    note: str = ""


@dataclass
class Item:
    """A third-party item: one of her children or one member of staff."""

    ref: str  # "eligibility.child:12", "sharing.person:4"
    kind: str
    label: str  # what the pack says while withheld ("Child 1", "Trust caseworker, Northbrook Trust")
    disclosed_label: str  # what it says once disclosed (a staff member's name and role)
    decision: RedactionDecision | None = None
    detail: str = ""  # what the DPO sees when deciding (never in the pack unless disclosed)

    @property
    def disclosed(self) -> bool:
        return self.decision is not None and self.decision.decision == Redaction.DISCLOSE

    def shown_as(self) -> str:
        return self.disclosed_label if self.disclosed else self.label


@dataclass
class Pack:
    request: RightsRequest
    programme_name: str
    controller: str
    generated_at: datetime
    sections: list[Section]
    items: list[Item]
    passages: list = field(default_factory=list)  # audit.oversight.pack_spans.Passage, for the DPO's page only

    @property
    def pending(self) -> list[Item]:
        return [i for i in self.items if i.decision is None]
