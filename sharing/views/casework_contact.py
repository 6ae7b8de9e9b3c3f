"""A released woman's casework page (contact history, open concerns, what to do next) and the
practitioner's contact form. Every read of her goes through the disclosure policy; the write is
`sharing.contact.record_contact`."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from pause_portal.access import for_perm
from pause_portal.tenancy.roles import Perm
from sharing.contact import notices_in_force, privacy_question_required, prompts_for, record_contact
from sharing.forms_casework import ContactForm
from sharing.views.casework_common import served_woman, visible_woman_or_404


@for_perm(Perm.VIEW_RELEASED_WOMAN)
def woman(request, pk: int):
    released, membership = visible_woman_or_404(request, pk)
    served = served_woman(request, released, reason="casework: contact and concerns")
    return render(request, "casework/woman.html", {"released": released, "woman": served})


@for_perm(Perm.RECORD_CONTACT)
def contact(request, pk: int):
    released, membership = visible_woman_or_404(request, pk)
    return _contact(request, released)


@require_http_methods(["GET", "HEAD", "POST"])
def _contact(request, released):
    form = ContactForm(request.POST if request.method == "POST" else None,
                       notices=notices_in_force(released.programme_id))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            record_contact(released, by=request.user, contacted_on=data["contacted_on"], method=data["method"],
                           outcome=data["outcome"], notices_given=data["notices_given"],
                           note=data["note"])
        except PermissionDenied:
            raise Http404("No such woman.") from None
        except ValidationError as e:
            for name, errors in e.message_dict.items():
                form.add_error({"contacted_on": "contacted", "privacy_information_given": "notices_given"}.get(name, name),
                               errors)
        else:
            messages.success(request, "Contact attempt recorded")
            return redirect("casework:woman", pk=released.pk)
    served = served_woman(request, released, reason="casework: record contact")
    return render(request, "casework/contact.html", {
        "released": released, "woman": served, "form": form, "prompts": prompts_for(released),
        "ask_privacy": privacy_question_required(released),
    })
