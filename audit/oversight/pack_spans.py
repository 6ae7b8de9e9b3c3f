"""Withholding part of a passage of free text in an access pack (issue 23, point 5).

The DPO selects the words to withhold in one passage (a decision's reason, a contact note, a
concern's summary...) — posted as the exact words and which occurrence of them — and the exemption
that applies (`audit.core.models_pack_spans.SpanExemption`). The span is kept as offsets; the pack
shows the passage with the span replaced by "[withheld: third-party information]", and the DPO's
page previews exactly that. If the passage has changed since a span was marked, the whole passage
is withheld until she marks it again.

`mark` and `remove` act on a built pack (`audit.oversight.access_pack.build`), so a span can only
be marked in a passage her pack really holds, as the DPO was shown it under the request.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db import models, transaction

from audit.core.log import record_event
from audit.core.models import Event
from audit.core.models_pack_spans import CITATIONS, PackRedactedSpan, SpanExemption
from audit.core.models_rights import RightsRequest
from audit.oversight.rights import RightsRefused, _locked, dpo_membership

# (model label, field) -> what the passage is, in words
PASSAGES = {
    ("eligibility.correction", "reason"): "Why her record was corrected",
    ("eligibility.decision", "reason"): "The reason for a decision about her",
    ("sharing.releasedwoman", "target_reason"): "Why she is at her place in Pause's target group",
    ("sharing.contactattempt", "note"): "A note of contact with her",
    ("sharing.safeguardingconcern", "summary"): "A safeguarding concern's summary",
    ("sharing.safeguardingconcern", "closing_note"): "A safeguarding concern's closing note",
}
WHEN = ("decided_at", "recorded_at", "contacted_on", "raised_at", "released_at")


def passage_ref(record: models.Model, name: str) -> str:
    return f"{record._meta.label_lower}:{record.pk}:{name}"


def withheld_words(exemptions) -> str:
    labels = sorted({SpanExemption(e).label for e in exemptions})
    return f"[withheld: {'; '.join(w[0].lower() + w[1:] for w in labels)}]"


def redact(text: str, spans: list[PackRedactedSpan]) -> str:
    """`text` as her pack shows it: each span (overlapping ones merged) replaced by what was
    withheld and why; the whole passage withheld if it changed since any span was marked."""
    if not spans:
        return text
    if any(s.text_length != len(text) for s in spans):
        return withheld_words(s.exemption for s in spans)
    merged: list[list] = []  # [start, end, {exemptions}]
    for s in sorted(spans, key=lambda s: (s.start, s.end)):
        if merged and s.start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], s.end)
            merged[-1][2].add(s.exemption)
        else:
            merged.append([s.start, s.end, {s.exemption}])
    out, at = [], 0
    for start, end, exemptions in merged:
        out += [text[at:start], withheld_words(exemptions)]
        at = end
    return "".join(out + [text[at:]])


@dataclass
class Passage:
    """A passage of free text in her pack, as the DPO sees it (never written to the pack as is)."""

    ref: str
    where: str  # "The reason for a decision about her, 7 December 2026"
    text: str
    spans: list[PackRedactedSpan] = field(default_factory=list)

    @property
    def shown(self) -> str:
        return redact(self.text, self.spans)

    @property
    def changed(self) -> bool:
        return any(s.text_length != len(self.text) for s in self.spans)


def spans_of(request: RightsRequest) -> dict[str, list[PackRedactedSpan]]:
    found = defaultdict(list)
    for span in PackRedactedSpan.objects.filter(request=request):
        found[span.passage].append(span)
    return found


def _passage(pack, ref: str) -> Passage:
    for passage in pack.passages:
        if passage.ref == ref:
            return passage
    raise RightsRefused("That passage is not in her pack. Choose one from the list.")


def mark(pack, *, passage: str, words: str, occurrence: int, exemption: str, by) -> PackRedactedSpan:
    """Withhold the `occurrence`-th appearance (from 1) of `words` in one passage of the pack."""
    request = pack.request
    membership = dpo_membership(by, request.programme_id)
    if exemption not in SpanExemption.values:
        raise RightsRefused("Choose the exemption that lets these words be withheld.")
    found = _passage(pack, passage)
    if not words or not words.strip():
        raise RightsRefused("Enter the words to withhold, exactly as they appear in the passage.")
    count = found.text.count(words)
    if count == 0:
        raise RightsRefused("Those words are not in the passage. Copy them exactly as they appear, with the same "
                            "capital letters and punctuation.")
    if occurrence < 1 or occurrence > count:
        raise RightsRefused(f"Those words appear {count} time{'s' if count != 1 else ''} in the passage: "
                            f"choose a number from 1 to {count}.")
    start = -1
    for _ in range(occurrence):
        start = found.text.index(words, start + 1)
    end = start + len(words)
    with transaction.atomic():
        locked = _locked(request)
        if PackRedactedSpan.objects.filter(request=locked, passage=passage, start=start, end=end).exists():
            raise RightsRefused("Those words are already withheld.")
        span = PackRedactedSpan.objects.create(request=locked, passage=passage, start=start, end=end,
                                               text_length=len(found.text), exemption=exemption, decided_by=by)
        record_event(Event.CHANGE, actor=by, target=span, programme=membership.programme, role=membership.role,
                     action=1, reason=f"rights request {locked.reference}: part of a passage withheld "
                                      f"({SpanExemption(exemption).label.lower()})")
    return span


def remove(pack, *, span_id: int, by) -> None:
    """Show again the words a span withheld (the change is recorded)."""
    request = pack.request
    membership = dpo_membership(by, request.programme_id)
    with transaction.atomic():
        locked = _locked(request)
        span = PackRedactedSpan.objects.filter(request=locked, pk=span_id).first()
        if span is None:
            raise RightsRefused("That withheld part is not in her pack.")
        record_event(Event.CHANGE, actor=by, target=span, programme=membership.programme, role=membership.role,
                     action=2, reason=f"rights request {locked.reference}: withheld part of a passage shown again")
        span.delete()


# For the DPO's page: each exemption with what it is and its citation.
EXEMPTIONS_IN_WORDS = [(SpanExemption(e).label, CITATIONS[SpanExemption(e)]) for e in SpanExemption]
