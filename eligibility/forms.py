from django import forms

from eligibility.extract.validate import KNOWN_COLUMNS as READ_COLUMNS
from pause_portal.form_rendering import govuk


class MappingChoiceForm(forms.Form):
    """The upload's optional column mapping: one of the programme's own, by id. Anything else
    (not a number, no such mapping, another programme's) is the same clear error."""

    CHOOSE = "Select a saved column mapping from the list"
    mapping = govuk(forms.ModelChoiceField(
        queryset=None, required=False, label="Column names (optional)", empty_label="The standard column names",
        help_text="If your system names the columns differently, choose your saved mapping.",
        error_messages={"invalid_choice": CHOOSE}), size="")

    def __init__(self, *args, programme, **kwargs):
        from eligibility.models import ColumnMapping

        super().__init__(*args, **kwargs)
        self.fields["mapping"].queryset = ColumnMapping.objects.filter(programme=programme)

    def clean_mapping(self):
        if len(self.data.getlist("mapping")) > 1:
            raise forms.ValidationError(self.CHOOSE)
        return self.cleaned_data["mapping"]


class ColumnMappingForm(forms.Form):
    name = govuk(forms.CharField(label="Name of the mapping", max_length=100, error_messages={
        "required": "Enter a name for the mapping",
        "max_length": "The name of the mapping must be 100 characters or fewer"}), size="")
    lines = govuk(forms.CharField(
        label="Column names",
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        help_text="One a line: the portal's column name, an equals sign, then your column's header. "
                  "For example: pers_person_id = PersonID",
        error_messages={"required": "Enter at least one column name"},
    ), size="")

    def __init__(self, *args, programme=None, **kwargs):
        self.programme = programme
        super().__init__(*args, **kwargs)

    def clean_name(self):
        from eligibility.models import ColumnMapping

        name = self.cleaned_data["name"].strip()
        if ColumnMapping.objects.filter(programme=self.programme, name=name).exists():
            raise forms.ValidationError("A mapping with this name already exists: choose another name")
        return name

    def clean(self):
        data = super().clean()
        columns = {}
        for number, line in enumerate((data.get("lines") or "").splitlines(), start=1):
            if not line.strip():
                continue
            ours, sep, theirs = line.partition("=")
            ours, theirs = ours.strip().lower(), theirs.strip()
            if not sep or not ours or not theirs:
                self.add_error("lines", f"Line {number} must look like: pers_person_id = PersonID")
            elif ours not in READ_COLUMNS:
                self.add_error("lines", f"Line {number}: the portal has no column called {ours}")
            else:
                columns[ours] = theirs
        if not columns and not self.errors:
            self.add_error("lines", "Enter at least one column name")
        data["columns"] = columns
        return data


class DuplicateDecisionForm(forms.Form):
    DECISIONS = [
        ("confirm", "Yes, they are the same woman"),
        ("reject", "No, they are different women"),
    ]
    decision = govuk(forms.ChoiceField(
        label="Are these two records the same woman?",
        choices=DECISIONS,
        widget=forms.RadioSelect,
        error_messages={"required": "Select whether these two records are the same woman",
                        "invalid_choice": "Select whether these two records are the same woman"},
    ), size="m", heading=True)
    reason = forms.CharField(
        label="Reason for your decision",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
        help_text="For example, what you checked in the case management system. Do not copy "
                  "names or NHS numbers into the reason.",
        error_messages={"required": "Enter the reason for your decision",
                        "max_length": "The reason must be 2000 characters or fewer"},
    )
