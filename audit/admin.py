# django-auditlog registers its log entries in the admin; the audit trail is the DPO's, reviewed
# in the portal, never in the system administrator's admin.
from django.contrib import admin

from audit.models import AuditEntry

if admin.site.is_registered(AuditEntry):
    admin.site.unregister(AuditEntry)
