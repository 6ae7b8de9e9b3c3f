from whitenoise.storage import CompressedManifestStaticFilesStorage


class PortalStaticFilesStorage(CompressedManifestStaticFilesStorage):
    """Hashed, compressed static files; ES module imports rewritten to the hashed names too
    (portal/init.js imports GOV.UK Frontend and the timeout warning)."""

    support_js_module_import_aggregation = True
