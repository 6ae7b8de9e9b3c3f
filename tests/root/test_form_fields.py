"""The one GOV.UK field rendering (issue 20): Django's field template shows every widget kind as its
GOV.UK component, with one id scheme (Django's auto_id; a group's items add _0, _1...; the hint
and error are <id>-hint and <id>-error), and the error summary links to inputs that are on the
page. A scan keeps GOV.UK control markup out of every other template."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django import forms
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms.boundfield import BoundField
from django.forms.renderers import get_default_renderer
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

from pause_portal.form_rendering import (
    FIELD_TEMPLATE,
    DatePartsField,
    GovukBoundField,
    GovukFormRenderer,
    NotEchoedInput,
    govuk,
    kind_of,
)
from tests.conftest import sign_in_verified

TEMPLATES = Path(settings.BASE_DIR) / "templates"


class Element:
    def __init__(self, tag: str, attrs: dict, parent: Element | None):
        self.tag, self.attrs, self.parent, self.children, self.parts = tag, attrs, parent, [], []

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def find_all(self, tag: str | None = None, **attrs) -> list[Element]:
        found = []
        for child in self.children:
            if (tag is None or child.tag == tag) and all(child.attrs.get(k) == v for k, v in attrs.items()):
                found.append(child)
            found.extend(child.find_all(tag, **attrs))
        return found

    def find(self, tag: str | None = None, **attrs) -> Element:
        found = self.find_all(tag, **attrs)
        assert len(found) == 1, f"{len(found)} <{tag} {attrs}>"
        return found[0]

    def with_class(self, name: str) -> list[Element]:
        return [e for e in self.find_all() if name in e.classes]

    def all_text(self) -> str:
        return "".join(p if isinstance(p, str) else p.all_text() for p in self.parts)


VOID = {"input", "br", "img", "meta", "link", "hr"}


class Tree(HTMLParser):
    """Just enough of an HTML tree for these checks (the page is ours and well formed)."""

    def __init__(self, html: str):
        super().__init__()
        self.root = self.here = Element("root", {}, None)
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        element = Element(tag, {k: (v if v is not None else True) for k, v in attrs}, self.here)
        self.here.children.append(element)
        self.here.parts.append(element)
        if tag not in VOID:
            self.here = element

    def handle_endtag(self, tag):
        node = self.here
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.here = node.parent

    def handle_data(self, data):
        self.here.parts.append(data)


def tree(html: str) -> Element:
    return Tree(html).root


class EveryKind(forms.Form):
    name = forms.CharField(label="Name", max_length=20, help_text="As on her records",
                           widget=forms.TextInput(attrs={"class": "govuk-input--width-20", "autocomplete": "off"}))
    count = forms.IntegerField(label="How many", widget=forms.TextInput(attrs={"inputmode": "numeric"}))
    secret = forms.CharField(label="Password", widget=forms.PasswordInput)
    email = forms.EmailField(label="Email address")
    note = forms.CharField(label="Note", max_length=500, help_text="No names", widget=forms.Textarea(attrs={"rows": 3}))
    colour = forms.ChoiceField(label="Colour", choices=[("", "Choose"), ("red", "Red"), ("blue", "Blue")],
                               help_text="The one you like")
    size = govuk(forms.ChoiceField(label="Size", choices=[("s", "Small"), ("m", "Medium"), ("l", "Large")],
                                   widget=forms.RadioSelect, help_text="Pick one"), small=True, inline=True)
    days = govuk(forms.MultipleChoiceField(label="Days", choices=[("mon", "Monday"), ("tue", "Tuesday")],
                                           widget=forms.CheckboxSelectMultiple, help_text="Any you like"), small=True)
    agree = forms.BooleanField(label="I agree", help_text="You must")
    end = govuk(forms.BooleanField(label="End it now", required=False, help_text="Only if sure"),
                legend="Ending it")
    upload = forms.FileField(label="A file", help_text="CSV only")
    born = DatePartsField(label="Date of birth", help_text="For example 27 3 1990")
    decided = govuk(forms.ChoiceField(label="Your decision", choices=[("y", "Yes"), ("n", "No")],
                                      widget=forms.RadioSelect), size="m", heading=True)
    identifier = forms.CharField(label="Identifier", max_length=3, widget=NotEchoedInput)

    def clean(self):
        data = super().clean()
        self.add_error("born", "Enter a real date")  # every field has an error
        self.add_error("end", "Say whether to end it")
        return data


BAD = {"name": "x" * 30, "count": "many", "secret": "", "email": "nope", "note": "", "colour": "green",
       "size": "xl", "days": ["sun"], "end": "", "born_day": "31", "born_month": "2", "born_year": "1990",
       "decided": "", "identifier": "AB-123"}


@pytest.fixture
def bad():
    form = EveryKind(BAD, {"upload": SimpleUploadedFile("empty.csv", b"")})
    assert not form.is_valid() and set(form.errors) == set(form.fields)
    return form


def group(form, name: str) -> Element:
    rendered = tree(form[name].as_field_group())
    (div,) = rendered.children
    assert div.tag == "div" and "govuk-form-group" in div.classes
    return div


SINGLE = {  # field: (tag, the control's GOV.UK class, its error class)
    "name": ("input", "govuk-input", "govuk-input--error"),
    "count": ("input", "govuk-input", "govuk-input--error"),
    "secret": ("input", "govuk-input", "govuk-input--error"),
    "email": ("input", "govuk-input", "govuk-input--error"),
    "identifier": ("input", "govuk-input", "govuk-input--error"),
    "note": ("textarea", "govuk-textarea", "govuk-textarea--error"),
    "colour": ("select", "govuk-select", "govuk-select--error"),
    "upload": ("input", "govuk-file-upload", "govuk-file-upload--error"),
}


def test_the_renderer_is_the_one_field_template():
    renderer = get_default_renderer()
    assert isinstance(renderer, GovukFormRenderer) and renderer.field_template_name == FIELD_TEMPLATE
    assert type(EveryKind()["name"]) is GovukBoundField


@pytest.mark.parametrize("name", SINGLE)
def test_a_single_control_has_its_label_hint_error_and_describedby(bad, name):
    tag, own, error = SINGLE[name]
    div, field = group(bad, name), bad[name]
    assert "govuk-form-group--error" in div.classes
    control = div.find(tag, name=name)
    assert control.attrs["id"] == field.auto_id == f"id_{name}" == field.first_input_id
    assert {own, error} <= control.classes
    label = div.find("label")
    assert label.attrs["for"] == field.auto_id and label.all_text() == field.label
    assert {"govuk-label", "govuk-label--s"} <= label.classes
    message = div.find("p", id=f"id_{name}-error")
    assert "govuk-error-message" in message.classes
    assert message.find("span").all_text() == "Error:" and "govuk-visually-hidden" in message.find("span").classes
    assert message.all_text() == f"Error: {field.errors[0]}"
    described = [f"id_{name}-hint"] if field.help_text else []
    assert control.attrs["aria-describedby"].split() == [*described, f"id_{name}-error"]
    for ref in control.attrs["aria-describedby"].split():
        assert div.find(id=ref)
    if field.help_text:
        assert "govuk-hint" in div.find("div", id=f"id_{name}-hint").classes
    assert "required" not in control.attrs and "maxlength" not in control.attrs  # the server checks, and says so


def test_widths_and_attributes_come_from_the_widget_and_types_from_the_field(bad):
    name = group(bad, "name").find("input")
    assert "govuk-input--width-20" in name.classes and name.attrs["autocomplete"] == "off"
    assert name.attrs["type"] == "text" and name.attrs["value"] == "x" * 30
    assert group(bad, "count").find("input").attrs["inputmode"] == "numeric"
    assert group(bad, "email").find("input").attrs["type"] == "email"
    secret = group(bad, "secret").find("input")
    assert secret.attrs["type"] == "password" and "value" not in secret.attrs
    assert group(bad, "upload").find("input").attrs["type"] == "file"
    assert group(bad, "note").find("textarea").attrs["rows"] == "3"
    options = group(bad, "colour").find("select").find_all("option")
    assert [o.attrs["value"] for o in options] == ["", "red", "blue"]


def test_an_identifier_searched_for_is_never_shown_back(bad):
    assert "AB-123" not in bad["identifier"].as_field_group()
    assert "value" not in group(bad, "identifier").find("input").attrs


@pytest.mark.parametrize(("name", "kind", "items"), [("size", "radios", 3), ("days", "checkboxes", 2)])
def test_radios_and_checkboxes_are_a_fieldset_whose_items_take_the_id_and_a_number(bad, name, kind, items):
    div, field = group(bad, name), bad[name]
    fieldset = div.find("fieldset")
    assert "govuk-fieldset" in fieldset.classes
    assert fieldset.attrs["aria-describedby"] == f"id_{name}-hint id_{name}-error"
    legend = fieldset.find("legend")
    assert {"govuk-fieldset__legend", "govuk-fieldset__legend--s"} <= legend.classes
    assert legend.all_text() == field.label
    assert fieldset.find(id=f"id_{name}-hint") and fieldset.find(id=f"id_{name}-error")
    container = fieldset.find("div", **{"data-module": f"govuk-{kind}"})
    assert {f"govuk-{kind}", f"govuk-{kind}--small"} <= container.classes
    inputs = container.find_all("input")
    assert [i.attrs["id"] for i in inputs] == [f"id_{name}_{n}" for n in range(items)]
    assert field.first_input_id == f"id_{name}_0"
    for item in container.with_class(f"govuk-{kind}__item"):
        control, label = item.find("input"), item.find("label")
        assert f"govuk-{kind}__input" in control.classes and label.attrs["for"] == control.attrs["id"]
        assert {"govuk-label", f"govuk-{kind}__label"} <= label.classes
        assert "aria-describedby" not in control.attrs  # the fieldset carries it
    assert ("govuk-radios--inline" in container.classes) == (kind == "radios")


def test_a_chosen_radio_or_checkbox_stays_chosen():
    form = EveryKind({"size": "m", "days": ["tue"]})
    form.is_valid()
    assert [i.attrs["value"] for i in group(form, "size").find_all("input") if "checked" in i.attrs] == ["m"]
    assert [i.attrs["value"] for i in group(form, "days").find_all("input") if "checked" in i.attrs] == ["tue"]


def test_a_legend_can_be_the_sections_heading(bad):
    legend = group(bad, "decided").find("legend")
    assert "govuk-fieldset__legend--m" in legend.classes
    heading = legend.find("h2")
    assert "govuk-fieldset__heading" in heading.classes and heading.all_text() == "Your decision"


def test_a_single_checkbox_is_one_item_labelled_by_the_field(bad):
    div = group(bad, "agree")
    assert not div.find_all("fieldset")
    box = div.find("input", type="checkbox")
    assert box.attrs["id"] == "id_agree" and "govuk-checkboxes__input" in box.classes
    assert box.attrs["aria-describedby"] == "id_agree-hint id_agree-error"
    assert div.find("label", **{"for": "id_agree"}).all_text() == "I agree"
    with_legend = group(bad, "end")
    fieldset = with_legend.find("fieldset")
    assert fieldset.find("legend").all_text() == "Ending it"
    assert fieldset.attrs["aria-describedby"] == "id_end-hint id_end-error"
    assert "aria-describedby" not in fieldset.find("input").attrs


def test_date_parts_are_a_gov_uk_date_input(bad):
    div, field = group(bad, "born"), bad["born"]
    fieldset = div.find("fieldset", role="group")
    assert fieldset.attrs["aria-describedby"] == "id_born-hint id_born-error"
    date_input = fieldset.find("div", id="id_born")
    assert "govuk-date-input" in date_input.classes
    inputs = date_input.find_all("input")
    assert [(i.attrs["id"], i.attrs["name"], i.attrs["value"]) for i in inputs] == [
        ("id_born_0", "born_day", "31"), ("id_born_1", "born_month", "2"), ("id_born_2", "born_year", "1990")]
    assert field.first_input_id == "id_born_0"
    widths = ["govuk-input--width-2", "govuk-input--width-2", "govuk-input--width-4"]
    for control, width in zip(inputs, widths, strict=True):
        assert {"govuk-input", "govuk-date-input__input", width, "govuk-input--error"} <= control.classes
        assert control.attrs["inputmode"] == "numeric"
        assert date_input.find("label", **{"for": control.attrs["id"]}).classes >= {"govuk-date-input__label"}


def test_date_parts_clean_to_their_stripped_strings_and_show_a_date():
    class Born(forms.Form):
        born = DatePartsField()

    form = Born({"born_day": " 7 ", "born_month": "6", "born_year": "1990"})
    assert form.is_valid() and form.cleaned_data["born"] == ("7", "6", "1990")
    empty = Born({})
    assert empty.is_valid() and empty.cleaned_data["born"] == ("", "", "")
    assert not Born({"born_day": "123"}).is_valid()  # each part's length is checked
    from datetime import date
    values = [i.attrs["value"] for i in tree(Born(initial={"born": date(2026, 3, 27)})["born"].as_field_group())
              .find_all("input")]
    assert values == ["27", "3", "2026"]


def test_a_prefix_is_part_of_every_id():
    form = EveryKind({}, prefix="trail")
    form.is_valid()
    html = "".join(form[name].as_field_group() for name in form.fields)
    page = tree(html)
    assert page.find("input", name="trail-name").attrs["id"] == "id_trail-name"
    assert page.find("p", id="id_trail-name-error") and page.find("div", id="id_trail-name-hint")
    assert form["size"].first_input_id == "id_trail-size_0" and page.find(id="id_trail-size_0")


def test_no_hint_and_no_error_means_no_describedby():
    form = EveryKind()
    div = group(form, "email")
    assert "govuk-form-group--error" not in div.classes and "aria-describedby" not in div.find("input").attrs
    assert not div.with_class("govuk-error-message") and not div.with_class("govuk-hint")
    assert "aria-describedby" not in group(form, "decided").find("fieldset").attrs


def test_ids_are_unique_across_the_whole_form(bad):
    html = "".join(bad[name].as_field_group() for name in bad.fields)
    ids = [e.attrs["id"] for e in tree(html).find_all() if "id" in e.attrs]
    assert len(ids) == len(set(ids))


def test_the_error_summary_links_every_error_to_an_input_on_the_page(bad):
    summary = render_to_string("includes/error_summary.html", {"form": bad})
    html = summary + "".join(bad[name].as_field_group() for name in bad.fields)
    page = tree(html)
    links = page.find("div", **{"data-module": "govuk-error-summary"}).find_all("a")
    assert len(links) == sum(len(bad[name].errors) for name in bad.fields)
    for link in links:
        target = page.find(id=link.attrs["href"].removeprefix("#"))
        assert target.tag in ("input", "textarea", "select"), link.attrs["href"]


def test_djangos_own_rendering_is_unchanged_for_the_admin():
    """The bound field adds; Django's widget rendering (the admin's) is as before."""
    form = EveryKind(BAD)
    form.is_valid()
    for name in ("name", "note", "colour", "size", "agree"):
        assert str(form[name]) == str(BoundField(form, form.fields[name], name))


def test_a_hidden_field_is_only_its_input():
    class Hidden(forms.Form):
        proposal = forms.IntegerField(widget=forms.HiddenInput)

    (element,) = tree(Hidden(initial={"proposal": 5})["proposal"].as_field_group()).children
    assert element.tag == "input" and element.attrs == {"type": "hidden", "name": "proposal", "value": "5",
                                                         "id": "id_proposal"}


def test_every_widget_kind_is_known_and_an_unknown_one_is_refused():
    assert [kind_of(EveryKind.base_fields[n].widget) for n in ("name", "note", "colour", "size", "days", "agree",
                                                                "upload", "born", "secret")] == [
        "input", "textarea", "select", "radios", "checkboxes", "checkbox", "file", "date", "input"]
    with pytest.raises(ValueError, match="No GOV.UK component"):
        kind_of(forms.MultiWidget([forms.TextInput()]))


# --- real pages ----------------------------------------------------------------------------
def assert_summary_targets_exist(html: str) -> list[str]:
    page = tree(html)
    summary = page.find("div", **{"data-module": "govuk-error-summary"})
    hrefs = [a.attrs["href"] for a in summary.find_all("a")]
    assert hrefs
    for href in hrefs:
        assert page.find(id=href.removeprefix("#")), href
    ids = [e.attrs["id"] for e in page.find_all() if "id" in e.attrs]
    assert len(ids) == len(set(ids)), "ids repeat on the page"
    return hrefs


@pytest.mark.django_db
def test_the_sign_in_page_links_its_errors_to_its_inputs():
    response = Client().post(reverse("accounts:sign-in"), {"username": "", "password": ""})
    assert assert_summary_targets_exist(response.content.decode()) == ["#id_username", "#id_password"]


@pytest.mark.parametrize(("name", "first"), [("rights:open", "#id_kind_0"), ("rights:breach-new", "#id_what_happened")])
def test_a_rights_page_links_its_errors_to_its_inputs(client, dpo, name, first):
    sign_in_verified(client, dpo)
    response = client.post(reverse(name), {})
    assert response.status_code == 400
    hrefs = assert_summary_targets_exist(response.content.decode())
    assert hrefs[0] == first
    page = tree(response.content.decode())
    for href in hrefs:
        assert page.find(id=href.removeprefix("#")).tag in ("input", "textarea", "select"), href


# --- the scan ------------------------------------------------------------------------------
CONTROL = re.compile(r'class="[^"]*\b(govuk-input|govuk-textarea|govuk-select|govuk-radios__input'
                     r'|govuk-checkboxes__input|govuk-file-upload)\b')
# Templates that write a control themselves, each for a reason (and only that control).
HAND_WRITTEN = {
    "base.html": ({"govuk-select"}, "the programme switcher in every page's header, built from the memberships "
                                    "the context processor lists; ProgrammeChoiceForm only parses the posted id"),
    "delivery/release.html": ({"govuk-checkboxes__input"}, "one choice of women whose checkboxes sit one to a "
                                                           "row of the table (a GOV.UK checkboxes component cannot "
                                                           "be split across rows)"),
    "scoping/release.html": ({"govuk-checkboxes__input"}, "the same: one checkbox in each woman's row"),
    "eligibility/queue.html": ({"govuk-checkboxes__input"}, "the same: the women chosen for a batch decision, "
                                                            "one checkbox in each woman's row"),
    "eligibility/upload.html": ({"govuk-file-upload"}, "the extract files: read from the request by the "
                                                       "encrypting upload handler, not a Django form field"),
}


def test_no_template_but_the_field_template_writes_a_form_control():
    found = {}
    for path in sorted(TEMPLATES.rglob("*.html")):
        name = path.relative_to(TEMPLATES).as_posix()
        if name == FIELD_TEMPLATE:
            continue
        controls = set(CONTROL.findall(path.read_text()))
        if controls:
            found[name] = controls
    assert found == {name: controls for name, (controls, _reason) in HAND_WRITTEN.items()}

