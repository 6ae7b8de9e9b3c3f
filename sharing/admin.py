from django.contrib import admin, messages
from django.shortcuts import redirect

from pause_portal.tenancy.models import Membership, Organisation, Programme


class SystemAdminOnly(admin.ModelAdmin):
    """System administrators run the service; they are not superusers, so say so here."""

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_system_admin

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return self.has_module_permission(request)

    def has_change_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False  # programmes and organisations are kept: records and audit entries refer to them


@admin.register(Organisation)
class OrganisationAdmin(SystemAdminOnly):
    list_display = ["name", "kind"]


@admin.register(Programme)
class ProgrammeAdmin(SystemAdminOnly):
    list_display = ["name", "trust", "pause_practice", "phase"]
    readonly_fields = ["phase", "phase_started_at", "created_at"]  # phases change through the portal, with two people


@admin.register(Membership)
class MembershipAdmin(SystemAdminOnly):
    """Grants are made with `add_user` or the People page and confirmed on the portal's Role grants
    page (or `add_user`), where the confirmer gives the justification the Caldicott log keeps (ADR
    45): the admin lists them only, with no action that could confirm one without it."""

    list_display = ["id", "person_id", "programme", "role", "status", "requested_by_id", "confirmed_by_id"]
    list_filter = ["status", "role", "programme"]
    actions = None

    def has_add_permission(self, request):
        return False

    def add_view(self, request, form_url="", extra_context=None):
        # Roles are granted on the portal, with its rules and audit entries: the admin's add page
        # (a 403 until issue 24) sends the administrator there instead.
        self.message_user(request, "Grant roles on the People page: open the person, then Grant a role.",
                          messages.INFO)
        return redirect("people:list")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
