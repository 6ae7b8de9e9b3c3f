from django.contrib.admin.apps import AdminConfig


class PortalAdminConfig(AdminConfig):
    """The admin, on the portal's OTP admin site from the first registration on."""

    default_site = "pause_portal.admin_site.PortalAdminSite"
