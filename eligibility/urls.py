from django.urls import path

from eligibility.views import batch, columns, duplicates, extracts, queue, queue_export, rules

app_name = "eligibility"
urlpatterns = [
    path("extracts/upload/", extracts.upload, name="upload"),
    path("extracts/<int:pk>/", extracts.extract_detail, name="extract"),
    path("extracts/<int:pk>/progress/", extracts.extract_progress, name="extract-progress"),
    path("extracts/<int:pk>/report.csv", extracts.extract_report, name="extract-report"),
    path("extracts/<int:pk>/retry/", extracts.extract_retry, name="extract-retry"),
    path("extracts/<int:pk>/confirm/", extracts.extract_confirm, name="extract-confirm"),
    path("extracts/<int:pk>/cancel/", extracts.extract_cancel, name="extract-cancel"),
    path("extracts/column-mappings/", extracts.mappings, name="mappings"),
    path("extracts/columns/", columns.columns, name="columns"),
    path("extracts/columns/template.csv", columns.column_template, name="column-template"),
    path("duplicates/", duplicates.duplicate_list, name="duplicates"),
    path("duplicates/<int:pk>/", duplicates.duplicate_detail, name="duplicate"),
    path("eligibility/", queue.queue, name="queue"),
    path("eligibility/run/", queue.run_rules, name="run-rules"),
    path("eligibility/batch/", batch.batch, name="batch"),
    path("eligibility/queue.csv", queue_export.queue_export, name="queue-export"),
    path("eligibility/changes/", queue.changes, name="changes"),
    path("women/<int:pk>/", queue.woman_detail, name="woman"),
    path("rules/", rules.rule_set_current, name="rules"),
    path("rules/edit/", rules.rule_set_edit, name="rules-edit"),
    path("rules/versions/<int:pk>/", rules.rule_set_version, name="rule-version"),
]
