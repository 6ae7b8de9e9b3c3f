# django-auditlog's own admin registration of the log entries is refused by the portal's admin
# site (audit entries are the DPO's to review in the portal, never the system administrator's).
