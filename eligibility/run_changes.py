"""What a run of the rules changed, woman by woman, against the evaluations standing in the run
before (ADR 42): which evaluations it writes, which it re-uses, and the changes it reports.

One `Tally` a process: recompute keeps one, or each process evaluating part of the women keeps
its own (ADR 51) and the parent adds them up in pk order, so the lists come out as one process
makes them.
"""

from __future__ import annotations

from eligibility.models import Proposal

NOT_PROPOSED = str(Proposal.NOT_PROPOSED)
NOT_EVALUATED = (NOT_PROPOSED, None, None, None)  # (proposal, evidence digest, content digest, run)
CHANGES = ("newly_proposed", "no_longer_proposed", "proposal_changed", "evidence_changed", "marked_for_re_review")
Before = dict[int, tuple[str, str, str, int]]  # woman -> her standing (proposal, digest, content digest, run)


class Tally:
    def __init__(self) -> None:
        self.changes: dict[str, list[int]] = {k: [] for k in CHANGES}
        self.counts = dict.fromkeys(Proposal.values, 0)
        self.written = 0
        self.carried_from: int | None = None  # the earliest run whose evaluation is re-used

    def count(self, woman_id: int, proposal: str, digest: str, content: str, before: Before) -> bool:
        """Count one woman's evaluation; whether it is to be written (False: hers stands as it is)."""
        self.counts[proposal] += 1
        was, was_digest, was_content, was_run = before.get(woman_id, NOT_EVALUATED)
        if was_content == content:
            self.carried_from = was_run if self.carried_from is None else min(self.carried_from, was_run)
            return False  # the same proposal, explanation and evidence: nothing changed
        self.written += 1
        if was == NOT_PROPOSED and proposal != NOT_PROPOSED:
            self.changes["newly_proposed"].append(woman_id)
        elif was != NOT_PROPOSED and proposal == NOT_PROPOSED:
            self.changes["no_longer_proposed"].append(woman_id)
        elif was != proposal:
            self.changes["proposal_changed"].append(woman_id)
        elif was_digest is not None and was_digest != digest:
            self.changes["evidence_changed"].append(woman_id)
        return True

    def as_sent(self) -> tuple:
        """For `marshal`, from a forked process (`add`)."""
        return self.changes, self.counts, self.written, self.carried_from

    def add(self, sent: tuple) -> None:
        """Another part's tally (`as_sent`), of women after all of this one's."""
        changes, counts, written, carried_from = sent
        for k, v in changes.items():
            self.changes[k].extend(v)
        for k, v in counts.items():
            self.counts[k] += v
        self.written += written
        if carried_from is not None:
            self.carried_from = carried_from if self.carried_from is None else min(self.carried_from, carried_from)
