"""For the Trust's data team: the import pipeline, synchronously, from files on disk.

    manage.py import_extract --programme "Northbrook scoping" --by caseworker@example.org ssd_person.csv ssd_mother.csv ...

Prints the same summary and problems as the upload page; exits non-zero when the import is refused.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from eligibility.importing import AlreadyImported, import_extract
from eligibility.models import ExtractStatus
from eligibility.recompute import recompute
from pause_portal import presenting
from pause_portal.tenancy.models import Person, Programme


def _counted(summary: dict) -> str:
    return ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in summary.items() if isinstance(v, int)) or "none"


class Command(BaseCommand):
    help = "Import a case extract (SSD CSV files or a .zip of them, or one flat-template CSV/XLSX)."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+")
        parser.add_argument("--programme", required=True, help="The programme's name.")
        parser.add_argument("--by", required=True, help="Email of the Trust caseworker or lead importing it.")

    def handle(self, *args, **opts):
        programme = Programme.objects.filter(name=opts["programme"]).first()
        if programme is None:
            raise CommandError(f"No programme called {opts['programme']!r}.")
        by = Person.objects.filter(email__iexact=opts["by"], is_active=True).first()
        if by is None:
            raise CommandError(f"No active person with the email address {opts['by']}.")
        paths = [Path(p) for p in opts["files"]]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise CommandError(f"No such file: {', '.join(missing)}")
        with ExitStack() as stack:
            files = [(p.name, stack.enter_context(p.open("rb"))) for p in paths]
            try:
                extract = import_extract(programme=programme, files=files, by=by)
            except AlreadyImported as exc:
                raise CommandError(str(exc)) from exc
            except PermissionDenied as exc:
                raise CommandError(str(exc)) from exc
        for problem in extract.problems:
            where = ", ".join(str(x) for x in (problem["file"], f"row {problem['row']}" if problem["row"] else "",
                                               problem["column"]) if x)
            self.stdout.write(f"{problem['level']}: {where}: {problem['message']}")
        if extract.status != ExtractStatus.SUCCEEDED:
            raise CommandError(f"The import was refused: {extract.summary.get('errors', 0)} error(s). Nothing was changed.")
        s = extract.summary
        self.stdout.write(
            f"Imported extract #{extract.pk}: women {s['women']['created']} added, {s['women']['updated']} updated, "
            f"{s['women']['unchanged']} unchanged; children {s['children']['created']} added, "
            f"{s['children']['updated']} updated; {s['events']['legal_statuses']} legal statuses, "
            f"{s['events']['care_episodes']} care episodes; {s['people_left_out']} people left out "
            f"({s['people_left_out_reason']}); left out rows: {s['left_out'] or 'none'}; warnings: {s['warnings']}."
        )
        result = recompute(programme, by=by)
        self.stdout.write(
            f"Proposals recomputed (rule set version {result.run.rule_set.version}, reference date "
            f"{presenting.day(result.run.reference_date)}): {_counted(result.run.summary)}; "
            f"{len(result.newly_proposed)} newly proposed, {len(result.no_longer_proposed)} no longer proposed, "
            f"{len(result.marked_for_re_review)} decisions to review again."
        )
