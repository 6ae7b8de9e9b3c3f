"""A complete access pack (issue 23, point 5): the Article 15 information in plain words, no
decision preselected on a third-party item, the download refused while any item is undecided,
words withheld from free text (with the exemption) absent from every file of the zip, and no code,
record reference or page address anywhere in it. All data is synthetic."""

from __future__ import annotations

import io
import re
import zipfile
from html import unescape
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.core.models import AuditEntry, Event
from audit.core.models_pack_spans import PackRedactedSpan, SpanExemption
from audit.core.models_rights import RedactionBasis
from audit.oversight import access_pack, pack_spans
from audit.oversight.pack_information import HEADINGS
from sharing.contact import record_contact
from tests.audit.oversight.test_rights_world import rights_world
from tests.conftest import sign_in_verified

pytestmark = pytest.mark.django_db

NOTE = ("Met her at the family centre with Mrs Invented Neighbour, who said Mrs Invented Neighbour had seen "
        "the children. She agreed to meet again.")
SECRET = "Mrs Invented Neighbour"
# Codes of the vocabularies and the shapes of internal references and addresses: none may reach her pack.
CODE_SHAPES = re.compile(
    r"\b(art6_1_[a-z]|art9_2_[a-z]\w*|sch1_p\d+_\d+|ca(?:1989|2004)_s\d+|power_\d+|art6|art9)\b"  # lawful bases
    r"|person #\d+|#\d+\b|->"  # "person #13", "decision #4", "not_contacted -> agreed"
    r"|\b[a-z]+_[a-z_]+\b"  # snake_case codes: "not_contacted", "her_details"
    r"|\b[a-z]+\.[a-z]+:\d+"  # record references: "eligibility.child:12"
    r"|https?://|www\.|(?<![\w<])/[a-z][\w-]*/")  # URLs and page paths: "/dpo/", "/rights/1/pack/"


class _Text(HTMLParser):
    """An HTML document's text, and each select's options as (value, selected)."""

    def __init__(self):
        super().__init__()
        self.text, self.selects, self._in_style = [], {}, False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self._in_style = tag == "style"
        if tag == "select":
            self.selects[attrs["id"]] = []
            self._select = attrs["id"]
        if tag == "option":
            self.selects[self._select].append((attrs.get("value"), "selected" in attrs))

    def handle_endtag(self, tag):
        self._in_style = False if tag == "style" else self._in_style

    def handle_data(self, data):
        if not self._in_style:
            self.text.append(data)


def _parsed(html: str) -> _Text:
    parser = _Text()
    parser.feed(html)
    return parser


def _files(content: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name).decode("utf-8-sig") for name in archive.namelist()}


@pytest.fixture
def world():
    w = rights_world(women=2)
    first = w.delivery.released[0]
    practitioner = w.delivery.practitioners[0]
    w.delivery.assign(first, practitioner)
    record_contact(first, by=practitioner, contacted_on=timezone.localdate(), method="phone", outcome="agreed",
                   privacy_information_given=True, note=NOTE)
    return w


def _decide_all(w, rr, *, but: int = 0):
    items = access_pack.build(rr, by=w.dpo, page="/t").items
    for item in items[: len(items) - but]:
        access_pack.decide_item(rr, item=item.ref, basis=RedactionBasis.OFFICIAL_CAPACITY
                                if item.kind == access_pack.STAFF else RedactionBasis.NO_CONSENT, by=w.dpo)


def test_the_pack_gives_the_article_15_information_in_plain_words_and_no_code_or_address(world):
    w = world
    rr = w.request("access")
    _decide_all(w, rr)
    name, content = access_pack.download(rr, by=w.dpo, page="/rights/1/pack/download/")
    files = _files(content)
    html = unescape(next(text for n, text in files.items() if n.endswith(".html")))
    information = next(text for n, text in files.items() if n.endswith("about_this_information.csv"))
    for heading in HEADINGS.values():  # (a)-(h) of Art. 15(1), Art. 15(2), and the notices
        assert heading in html and heading in information, heading
    agreement = w.programme.agreements.get(status="confirmed")
    assert agreement.purposes in html and agreement.parties in html
    assert "Information Commissioner's Office" in html and "a named member of the Trust's staff" in html
    assert ("Only in the UK" in html) == agreement.uk_only_processing
    for file_name, text in files.items():
        readable = " ".join(_parsed(text).text) if file_name.endswith(".html") else text
        assert not CODE_SHAPES.findall(readable), (file_name, CODE_SHAPES.findall(readable))


def test_no_decision_is_preselected_on_an_item_about_another_person(world):
    w = world
    rr = w.request("access")
    client = sign_in_verified(Client(), w.dpo)
    url = reverse("rights:pack", args=[rr.pk])
    selects = _parsed(client.get(url).content.decode()).selects
    decisions = {k: v for k, v in selects.items() if k.endswith("-basis")}
    assert decisions and len(decisions) == len(access_pack.build(rr, by=w.dpo, page="/t").items)
    for options in decisions.values():
        assert options[0][0] == ""  # a blank first option...
        assert not [value for value, selected in options if selected and value]  # ...and no decision chosen
    # posting the blank option is refused with a clear message and records nothing
    item = access_pack.build(rr, by=w.dpo, page="/t").items[0]
    response = client.post(url, {"item": item.ref, "basis": ""})
    assert response.status_code == 400
    assert "Select whether to disclose or withhold it, and why" in response.content.decode()
    assert not rr.redactions.exists()
    # once decided, only that item shows its decision
    client.post(url, {"item": item.ref, "basis": RedactionBasis.NO_CONSENT})
    selects = _parsed(client.get(url).content.decode()).selects
    chosen = [[v for v, selected in options if selected and v] for k, options in selects.items()
              if k.endswith("-basis")]
    assert chosen[0] == [RedactionBasis.NO_CONSENT] and not any(chosen[1:])


def test_a_pack_cannot_be_downloaded_while_any_item_is_undecided(world):
    w = world
    rr = w.request("access")
    client = sign_in_verified(Client(), w.dpo)
    _decide_all(w, rr, but=1)
    response = client.post(reverse("rights:pack-download", args=[rr.pk]), follow=True)
    assert response["Content-Type"].startswith("text/html")
    assert "Decide on every item about other people first (1 awaiting)." in unescape(response.content.decode())
    assert not AuditEntry.objects.filter(event=Event.DISCLOSURE, reason__contains="access pack downloaded").exists()
    with pytest.raises(access_pack.RightsRefused, match="1 awaiting"):
        access_pack.download(rr, by=w.dpo, page="/t")
    _decide_all(w, rr)
    response = client.post(reverse("rights:pack-download", args=[rr.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"


def _note_passage(w, rr):
    return next(p for p in access_pack.build(rr, by=w.dpo, page="/t").passages if p.text == NOTE)


def test_redacted_spans_are_absent_from_every_file_of_the_zip(world):
    w = world
    rr = w.request("access")
    client = sign_in_verified(Client(), w.dpo)
    withhold = reverse("rights:pack-withhold", args=[rr.pk])
    passage = _note_passage(w, rr)
    for occurrence in (1, 2):
        response = client.post(withhold, {"passage": passage.ref, "words": SECRET, "occurrence": occurrence,
                                          "exemption": SpanExemption.THIRD_PARTY})
        assert response.status_code == 302, response.content.decode()[:2000]
    # the DPO's preview shows the passage as her pack will
    expected = NOTE.replace(SECRET, "[withheld: third-party information]")
    page = client.get(reverse("rights:pack", args=[rr.pk])).content.decode()
    assert expected in unescape(page)
    _decide_all(w, rr)
    files = _files(access_pack.download(rr, by=w.dpo, page="/t")[1])
    assert len(files) > 2  # the document and every CSV
    for file_name, text in files.items():
        assert SECRET not in text and "Invented Neighbour" not in text, file_name
    everything = "\n".join(files.values())
    assert "[withheld: third-party information]" in everything and "She agreed to meet again." in everything
    assert PackRedactedSpan.objects.filter(request=rr).count() == 2
    assert AuditEntry.objects.filter(reason__contains="part of a passage withheld (third-party information)").count() == 2
    assert not AuditEntry.objects.filter(reason__contains="Invented Neighbour").exists()  # the words are never logged


def test_bad_span_input_is_refused_clearly_and_changes_nothing(world):
    w = world
    rr = w.request("access")
    client = sign_in_verified(Client(), w.dpo)
    withhold = reverse("rights:pack-withhold", args=[rr.pk])
    passage = _note_passage(w, rr)
    cases = [
        ({"words": "Mrs Somebody Else", "occurrence": 1, "exemption": "third_party"}, "Those words are not in the passage"),
        ({"words": SECRET, "occurrence": 3, "exemption": "third_party"}, "Those words appear 2 times in the passage"),
        ({"words": SECRET, "occurrence": 1, "exemption": ""}, "Select why the words are withheld"),
        ({"words": SECRET, "occurrence": 1, "exemption": "because"}, "Select why the words are withheld"),
        ({"words": "", "occurrence": 1, "exemption": "third_party"}, "Enter the words to withhold"),
        ({"words": SECRET, "occurrence": "x", "exemption": "third_party"}, "Enter which time the words appear"),
    ]
    for data, message in cases:
        response = client.post(withhold, {"passage": passage.ref, **data})
        assert response.status_code == 400 and message in unescape(response.content.decode()), data
    other = f"sharing.contactattempt:{99999}:note"
    response = client.post(withhold, {"passage": other, "words": SECRET, "occurrence": 1, "exemption": "third_party"})
    assert response.status_code == 400 and "That passage is not in her pack" in unescape(response.content.decode())
    assert not PackRedactedSpan.objects.exists()


def test_a_span_can_be_shown_again_and_a_changed_passage_is_withheld_whole(world):
    w = world
    rr = w.request("access")
    span = pack_spans.mark(access_pack.build(rr, by=w.dpo, page="/t"), passage=_note_passage(w, rr).ref,
                           words="family centre", occurrence=1, exemption=SpanExemption.SERIOUS_HARM, by=w.dpo)
    assert "[withheld: likely to cause serious harm]" in _note_passage(w, rr).shown
    # the passage as recorded is no longer the one marked: nothing of it is shown (fail closed)
    changed = pack_spans.redact(NOTE + " More.", [span])
    assert changed == "[withheld: likely to cause serious harm]"
    client = sign_in_verified(Client(), w.dpo)
    assert client.post(reverse("rights:pack-withhold", args=[rr.pk]), {"remove": span.pk}).status_code == 302
    assert _note_passage(w, rr).shown == NOTE and not PackRedactedSpan.objects.exists()
    with pytest.raises(access_pack.RightsRefused):  # only the DPO withholds
        pack_spans.mark(access_pack.build(rr, by=w.dpo, page="/t"), passage=_note_passage(w, rr).ref, words="she",
                        occurrence=1, exemption=SpanExemption.CRIME, by=w.caseworker)
