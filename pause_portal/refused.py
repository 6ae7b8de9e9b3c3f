"""The one error for an action refused: the request was understood, it cannot go ahead, and
nothing was written. `message` says why, in words fit to show the person who asked; `problems`
lists the reasons one line each when there are several (a release's checks). Each app names its
own refusal as a subclass (`RightsRefused`, `CaseloadRefused`, ...) so a caller can still tell
which action refused and a view that calls several can catch `Refused`."""

from __future__ import annotations


class Refused(Exception):
    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.problems = problems or []
