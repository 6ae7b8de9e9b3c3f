"""GOV.UK form fields, rendered one way (issue 20): Django's field templates.

`settings.FORM_RENDERER` is `GovukFormRenderer`; its `field_template_name` is the one GOV.UK field
template (templates/govuk/field.html), so a page renders `{{ form.x.as_field_group }}` and gets
the GOV.UK component for the field's widget: text input (and email, number, password), textarea,
select, radios, checkboxes, a single checkbox, file upload, or date parts (`DatePartsField`).

One id scheme, Django's: the input's id is the field's `auto_id` (`id_<name>`, with the form's
prefix or `auto_id` format when it has one); the items of radios, checkboxes and date parts add
`_0`, `_1`... (Django's own subwidget ids); the hint is `<auto_id>-hint` and the error message
`<auto_id>-error`. The error summary (templates/includes/error_summary.html) links each error to
`first_input_id`: the input itself, or a group's first item.

What Django's field does not say (the label's size, small or inline radios, a legend that is the
section's heading) a form says with `govuk(field, ...)`; widths, `autocomplete`, `inputmode`,
`spellcheck` and a textarea's `rows` are the widget's own attrs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django import forms
from django.forms.boundfield import BoundField, BoundWidget
from django.forms.renderers import TemplatesSetting
from django.forms.widgets import Input
from django.utils.safestring import SafeString

FIELD_TEMPLATE = "govuk/field.html"


@dataclass(frozen=True)
class Look:
    """How GOV.UK shows a field, beyond its label, help text (the hint) and widget."""

    size: str = "s"  # the label's or legend's size: "s", "m", "l", or "" for body text
    heading: bool = False  # the legend is the section's heading (an h2)
    small: bool = False  # small radios or checkboxes
    inline: bool = False  # radios side by side
    legend: str = ""  # a single checkbox's question, above it (its label is the answer)
    hidden_label: bool = False  # the label is for screen readers only (a field in a table row)
    group_class: str = ""  # more classes on the form group (spacing in a table cell)


PLAIN = Look()


def govuk(field: forms.Field, **look) -> forms.Field:
    """`field`, shown the GOV.UK way `look` says (see `Look`)."""
    field.govuk_look = Look(**look)
    return field


class NotEchoedInput(forms.TextInput):
    """A text input that never shows back what was posted: an identifier searched for stays out of
    the page (and so out of the browser's cache and history)."""

    def format_value(self, value):
        return None


class DatePartsWidget(forms.MultiWidget):
    """GOV.UK date input: day, month and year, posted as `<name>_day`, `<name>_month`, `<name>_year`."""

    PARTS = (("day", "Day", "govuk-input--width-2"), ("month", "Month", "govuk-input--width-2"),
             ("year", "Year", "govuk-input--width-4"))

    def __init__(self, attrs=None):
        super().__init__({name: forms.TextInput(attrs={"inputmode": "numeric"}) for name, _, _ in self.PARTS},
                         attrs)

    def decompress(self, value):
        if isinstance(value, date):
            return [value.day, value.month, value.year]
        return list(value) if value else [None, None, None]


class DatePartsField(forms.MultiValueField):
    """A date as three text parts. It cleans to the (day, month, year) strings, stripped: the form
    reads them, so that it can say what is wrong in words of its own."""

    widget = DatePartsWidget

    def __init__(self, *, max_lengths=(2, 2, 4), **kwargs):
        # A part too long gets a message of ours, never Django's "Ensure this value has at most 2
        # characters": the day, month or year, and how many digits it has at most.
        parts = [forms.CharField(required=False, max_length=n, error_messages={
                     "max_length": f"The {part} must be {n} digit{'s' if n > 1 else ''} or fewer"})
                 for n, (part, _, _) in zip(max_lengths, DatePartsWidget.PARTS, strict=True)]
        kwargs.setdefault("required", False)
        super().__init__(parts, require_all_fields=False, **kwargs)

    def compress(self, data_list) -> tuple[str, str, str]:
        values = [(v or "").strip() for v in data_list] if data_list else []
        return tuple(values + [""] * (3 - len(values)))


def kind_of(widget: forms.Widget) -> str:
    """Which GOV.UK component shows `widget` (the order matters: CheckboxSelectMultiple is a
    RadioSelect, every Select a ChoiceWidget)."""
    for cls, kind in ((forms.HiddenInput, "hidden"), (forms.CheckboxSelectMultiple, "checkboxes"),
                      (forms.RadioSelect, "radios"), (forms.Select, "select"), (forms.Textarea, "textarea"),
                      (forms.CheckboxInput, "checkbox"), (forms.FileInput, "file"), (DatePartsWidget, "date"),
                      (Input, "input")):
        if isinstance(widget, cls):
            return kind
    raise ValueError(f"No GOV.UK component for {type(widget).__name__}")


# The control's own GOV.UK class, and the one it adds when the field has an error.
CONTROL_CLASSES = {
    "input": ("govuk-input", "govuk-input--error"),
    "textarea": ("govuk-textarea", "govuk-textarea--error"),
    "select": ("govuk-select", "govuk-select--error"),
    "file": ("govuk-file-upload", "govuk-file-upload--error"),
    "checkbox": ("govuk-checkboxes__input", ""),
    "radios": ("govuk-radios__input", ""),
    "checkboxes": ("govuk-checkboxes__input", ""),
    "hidden": ("", ""),
}
GROUPS = {"radios", "checkboxes", "date"}  # shown in a fieldset, whatever the look


class GovukBoundField(BoundField):
    """Django's bound field, plus where the error summary links to and what the GOV.UK field
    template needs. Nothing Django's own rendering uses is changed (the admin renders as before)."""

    @property
    def kind(self) -> str:
        return kind_of(self.field.widget)

    @property
    def first_input_id(self) -> str:
        """The id the error summary links to: the input, or a group's first item."""
        if self.kind in GROUPS:
            return f"{self.auto_id}_0" if self.auto_id else ""
        return self.auto_id

    def get_context(self):
        return {"field": self, "govuk": GovukField(self)}


class GovukField:
    """One field as the GOV.UK field template shows it."""

    def __init__(self, bound: BoundField):
        self.bound = bound
        self.kind = kind_of(bound.field.widget)
        self.look: Look = getattr(bound.field, "govuk_look", PLAIN)
        self.id = bound.auto_id
        self.hint_id = f"{self.id}-hint" if bound.help_text else ""
        self.error_id = f"{self.id}-error" if bound.errors else ""
        self.describedby = " ".join(i for i in (self.hint_id, self.error_id) if i)
        self.fieldset = self.kind in GROUPS or bool(self.kind == "checkbox" and self.look.legend)

    @property
    def group_classes(self) -> str:
        return _classes("govuk-form-group", self.bound.errors and "govuk-form-group--error", self.look.group_class)

    @property
    def label_classes(self) -> str:
        return _classes("govuk-label", self.look.size and f"govuk-label--{self.look.size}",
                        self.look.hidden_label and "govuk-visually-hidden")

    @property
    def legend(self) -> str:
        return self.look.legend or self.bound.label

    @property
    def legend_classes(self) -> str:
        return _classes("govuk-fieldset__legend", self.look.size and f"govuk-fieldset__legend--{self.look.size}")

    @property
    def items_classes(self) -> str:
        if self.kind == "radios":
            return _classes("govuk-radios", self.look.small and "govuk-radios--small",
                            self.look.inline and "govuk-radios--inline")
        return _classes("govuk-checkboxes", self.look.small and "govuk-checkboxes--small")

    def _control_attrs(self, kind: str) -> dict:
        widget = self.bound.field.widget
        own, error = CONTROL_CLASSES[kind]
        # No maxlength (Django adds it for a CharField's max_length): a browser would cut the text
        # short silently, where the server's check says what is wrong (GOV.UK's advice).
        attrs = {"class": _classes(own, widget.attrs.get("class", ""), self.bound.errors and error) or False,
                 "maxlength": False, "minlength": False}
        if kind == "textarea":
            attrs["cols"] = False  # GOV.UK's textarea is as wide as its container
        if self.bound.field.disabled:
            attrs["disabled"] = True
        if self.describedby and not self.fieldset:
            attrs["aria-describedby"] = self.describedby
        return attrs

    @property
    def control(self) -> SafeString:
        """The input, textarea, select or single checkbox, by Django's widget templates with GOV.UK
        classes (and never the `required` attribute: GOV.UK pages validate on the server)."""
        bound, widget = self.bound, self.bound.field.widget
        attrs = {**self._control_attrs(self.kind), "id": self.id}
        if bound.field.localize:
            widget.is_localized = True
        return widget.render(name=bound.html_name, value=bound.value(), attrs=attrs, renderer=bound.form.renderer)

    @property
    def items(self) -> list[BoundWidget]:
        """Radios' or checkboxes' items: `tag` is the input, `id_for_label` its id (`<id>_<n>`)."""
        bound, widget = self.bound, self.bound.field.widget
        attrs = {**self._control_attrs(self.kind), "id": self.id}
        return [BoundWidget(widget, item, bound.form.renderer)
                for item in widget.subwidgets(bound.html_name, bound.value(), attrs=attrs)]

    @property
    def parts(self) -> list[dict]:
        """A date's day, month and year: each a label, an id and the input's name and value."""
        bound, widget = self.bound, self.bound.field.widget
        context = widget.get_context(bound.html_name, bound.value(), {"id": self.id})["widget"]
        error = bound.errors and "govuk-input--error"
        return [{"label": label, "id": sub["attrs"]["id"], "name": sub["name"], "value": sub["value"],
                 "inputmode": sub["attrs"].get("inputmode", ""),
                 "classes": _classes("govuk-input govuk-date-input__input", width, error)}
                for sub, (_, label, width) in zip(context["subwidgets"], DatePartsWidget.PARTS, strict=True)]


def _classes(*names) -> str:
    return " ".join(n for n in names if n)


class GovukFormRenderer(TemplatesSetting):
    """Forms render with the project's template settings (so Django's widget templates and ours
    are found alike), each field through the one GOV.UK field template."""

    field_template_name = FIELD_TEMPLATE
    bound_field_class = GovukBoundField
