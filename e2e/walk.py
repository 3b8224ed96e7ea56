"""The browser walk: a persona visits every page it can reach from the navigation and submits
every form on them with valid input, in headless Chromium; each page is checked as it loads.

What fails a page: a response of 400 or more (the page, or anything it loads or posts), a
console error or uncaught exception, a request to any host but the portal's, a page wider than
the viewport (the walk runs at phone width), more than one htmx config, and a critical or serious
axe-core violation. In Korean, also a date in English order or with English names, and a text
shown in English that the catalogue translates.

The crawl follows same-origin links from each page it visits, breadth first, and is bounded: at
most `PER_VIEW` addresses per Django view, and as many again with a query string (the feed links
to hundreds of papers; one shows what a paper page is), and `MAX_PAGES` pages in all. Forms are
collected on the way, one per kind (the view they go to, their fields, the button pressed), and
submitted once the crawl is done, each from a fresh load of the page it was found on, with the
page it leads to checked like the others; those that remove or end something come last, so the
others still find what they need. Log out is never followed.
"""

import gettext
import re
from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urljoin, urlsplit, urlunsplit

from django.urls import Resolver404, resolve
from django.utils import timezone
from playwright.sync_api import Error as PlaywrightError

ASSETS = Path(__file__).resolve().parent / "assets"
LOCALE = Path(__file__).resolve().parent.parent / "locale"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
PER_VIEW = 1
MAX_PAGES = 90
# Views the walk neither follows nor submits: leaving the session ends the walk.
NOT_FOLLOWED = {"logout", "admin:logout"}
# Django's own admin: the walk checks its index, which the navigation links, and leaves the rest
# (its markup and forms are Django's, tested by Django) to the admin's own tests.
ADMIN = "/admin/"
# Forms that end or remove something run after all the others.
LAST_WORDS = ("delete", "remove", "revoke", "cancel", "discard", "decline", "withdraw", "login", "password")

# A date in English: "Monday 1 December", "1 December 2026", "December 1, 2026", "Mon 1 Dec", and
# the English order with Korean names ("화요일 1 12월").
MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|November|December|"
    "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
)
DAYS = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|Mon|Tue|Wed|Thu|Fri|Sat|Sun"
ENGLISH_DATE = re.compile(
    rf"\b(?:(?:{DAYS}),? \d{{1,2}} (?:{MONTHS})\b"
    rf"|\d{{1,2}} (?:{MONTHS}) \d{{4}}\b"
    rf"|(?:{MONTHS}) \d{{1,2}}, \d{{4}}\b)"
    r"|\d{1,2} \d{1,2}월"
)

AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations
    .filter(v => v.impact === "critical" || v.impact === "serious")
    .map(v => `${v.impact} ${v.id}: ${v.help} at ` +
              v.nodes.slice(0, 3).map(n => n.target.join(" ")).join("; "));
}"""

# Every form on the page as the walk keys and fills it: its fields, and for each button that
# submits it, where and how it goes (the button's own hx-post or formaction first, then the
# form's htmx request when submitting triggers one, then the form's own action).
FORMS = """() => Array.from(document.forms).map((form, index) => {
  const hx = form.getAttribute("hx-post") ? ["post", form.getAttribute("hx-post")]
    : form.getAttribute("hx-get") ? ["get", form.getAttribute("hx-get")] : null;
  const trigger = form.getAttribute("hx-trigger") || "";
  const own = [(form.getAttribute("method") || "get").toLowerCase(),
               form.getAttribute("action") || location.pathname + location.search];
  const onSubmit = hx && (!trigger || trigger.includes("submit")) ? hx : own;
  const buttons = Array.from(form.querySelectorAll("button, input[type=submit]"))
    .filter(b => (b.type || "submit") === "submit" && !b.disabled);
  const goes = b => !b ? onSubmit
    : b.getAttribute("hx-post") ? ["post", b.getAttribute("hx-post")]
    : b.getAttribute("formaction")
      ? [(b.getAttribute("formmethod") || own[0]).toLowerCase(), b.getAttribute("formaction")]
    : onSubmit;
  return {
    index,
    fields: Array.from(form.elements).filter(e => e.name && e.type !== "hidden").map(e => e.name).sort(),
    buttons: (buttons.length ? buttons : [null]).map((b, i) => ({
      index: b ? i : -1,
      name: b ? b.name || "" : "",
      text: b ? (b.textContent || b.value || "").trim().replace(/\\s+/g, " ").slice(0, 40) : "",
      method: goes(b)[0],
      action: goes(b)[1],
      htmx: goes(b) !== own,
    })),
  };
})"""

# What the walk needs to know of a field to fill it.
FIELD = """e => ({
  name: e.name, tag: e.tagName.toLowerCase(), type: (e.type || "").toLowerCase(), value: e.value,
  required: e.required, disabled: e.disabled || e.readOnly, min: e.min || "",
  group: Array.from(e.form.elements).some(o => o.name === e.name && o.checked),
  options: e.tagName === "SELECT" ? Array.from(e.options).filter(o => o.value).map(o => o.value) : [],
})"""

# The fields the browser would refuse to send, with why.
INVALID = """form => Array.from(form.elements).filter(e => e.willValidate && !e.checkValidity())
  .map(e => `${e.name}: ${e.validationMessage}`)"""

# A person opens what is folded (the filters on a phone) before using a form inside it.
OPEN_FOLDS = """f => {
  for (let d = f.closest("details"); d; d = d.parentElement.closest("details")) d.open = true;
}"""
HTMX_DONE = "() => !document.querySelector('.htmx-request, .htmx-settling, .htmx-swapping')"

# Whether the page is wider than the viewport, and the innermost elements sticking out on the right
# (not those inside a box that scrolls or clips sideways: a wide table in its own scroller is fine).
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const clipped = e => {
    for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== "visible") return true;
    }
    return false;
  };
  const out = Array.from(document.body.querySelectorAll("*"))
    .filter(e => e.getBoundingClientRect().right > width + 0.5 && e.checkVisibility() && !clipped(e));
  const innermost = out.filter(e => !out.some(o => o !== e && e.contains(o)));
  return [document.documentElement.scrollWidth, width,
          innermost.slice(0, 3).map(e => `${e.parentElement.className} > ${e.outerHTML.slice(0, 90)}`)];
}"""

FORM_ERRORS = ".errorlist, .form-errors, .message.error, [aria-invalid=true]"
# Text the portal itself writes (labels, buttons, headings, help), for the Korean check.
CHROME = "label, button, summary, legend, th, h1, h2, h3, nav a, .helptext, .empty, .muted, option"


def view_name(address: str) -> str | None:
    try:
        return resolve(urlsplit(address).path).view_name
    except Resolver404:
        return None


def translated_catalogue() -> set[str]:
    """The English messages the Korean catalogue translates into something else (not those kept
    as they are, such as "arXiv"), without placeholders."""
    with (LOCALE / "ko" / "LC_MESSAGES" / "django.mo").open("rb") as mo:
        catalogue = gettext.GNUTranslations(mo)._catalog
    return {
        english
        for english, korean in catalogue.items()
        if isinstance(english, str) and english.strip() and korean != english and "%" not in english
    }


@dataclass
class FormTarget:
    page: str
    key: tuple
    description: str
    last: bool


@dataclass
class Walk:
    """One persona's walk in one browser page, on the portal at `base`. `values` says what to type
    in the fields that need more than some text (field name → value; True for a set of
    checkboxes of which one must be ticked; "<file>" for any file); `forms_of`, which views' forms
    the persona submits, when not all it finds; `axe`, whether axe-core checks each page."""

    page: object
    base: str
    language: str = "en"
    values: dict = field(default_factory=dict)
    forms_of: frozenset | None = None  # the views whose forms this persona submits (None: all)
    axe: bool = True
    visited: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)
    forms: dict = field(default_factory=dict)
    _per_view: dict = field(default_factory=dict)
    _events: list = field(default_factory=list)

    def __post_init__(self):
        self.origin = urlsplit(self.base)
        self.axe_source = (ASSETS / "axe.min.js").read_text() if self.axe else ""
        self.english = translated_catalogue() if self.language == "ko" else set()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self._events.append(f"uncaught exception: {error}"))
        self.page.on("request", self._request)
        self.page.on("response", self._response)
        self.page.on("dialog", lambda dialog: dialog.accept())

    # -- what every request and response in the browser is held to

    def _console(self, message):
        if message.type == "error":
            self._events.append(f"console error: {message.text}")

    def _request(self, request):
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob", "about"):
            return
        if parts.hostname not in LOCAL_HOSTS or parts.port != self.origin.port:
            self._events.append(f"request to another host: {request.method} {request.url}")

    def _response(self, response):
        if response.status >= 400:
            self._events.append(f"{response.status} for {response.request.method} {response.url}")

    def _flush(self, where: str):
        self.problems.extend(f"{where}: {event}" for event in self._events)
        self._events.clear()

    # -- the crawl

    def _address(self, href: str) -> str | None:
        """The same-origin address a link leads to, without its fragment; None for another site."""
        parts = urlsplit(urljoin(self.page.url, href))
        if parts.scheme not in ("http", "https") or parts.netloc != self.origin.netloc:
            return None
        return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))

    def _take(self, address: str) -> bool:
        """Whether the walk visits `address`: new, within its view's share and the page budget."""
        if address in self.visited or len(self.visited) >= MAX_PAGES:
            return False
        name = view_name(address)
        path = urlsplit(address).path
        if name in NOT_FOLLOWED or (path.startswith(ADMIN) and path != ADMIN):
            return False
        share = (name, bool(urlsplit(address).query))
        if self._per_view.get(share, 0) >= PER_VIEW:
            return False
        self._per_view[share] = self._per_view.get(share, 0) + 1
        return True

    def crawl(self, *starts: str):
        queue = deque(self._address(start) for start in starts)
        while queue:
            address = queue.popleft()
            if not self._take(address):
                continue
            for href in self.visit(address):
                link = self._address(href)
                if link and link not in self.visited:
                    queue.append(link)

    def visit(self, address: str) -> list[str]:
        """Load `address` and check it; the links on it, when it is a page."""
        # Asked first with the browser's cookies, outside the page: a file (calendar, PDF, BibTeX,
        # CSV, feed) would start a download instead of loading; its answer is what counts.
        answer = self.page.request.get(address)
        self.visited[address] = answer.status
        if answer.status >= 400:
            self.problems.append(f"{address}: answered {answer.status}")
            return []
        if not answer.headers.get("content-type", "").startswith("text/html"):
            return []
        self.page.goto(address)
        self.check(address)
        self._collect_forms(address)
        return self.page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")

    def check(self, where: str):
        page = self.page
        wide, viewport, sticking_out = page.evaluate(OVERFLOW)
        if wide > viewport:
            out = "; ".join(sticking_out)
            self.problems.append(f"{where}: {wide} px wide in a {viewport} px viewport ({out})")
        configs = page.locator('meta[name="htmx-config"]').count()
        if configs > 1:
            self.problems.append(f"{where}: {configs} htmx configs (htmx reads the first only)")
        if self.axe:
            if page.evaluate("() => typeof axe") == "undefined":
                page.evaluate(self.axe_source)
            self.problems.extend(f"{where}: axe {violation}" for violation in page.evaluate(AXE_RUN))
        if self.language == "ko":
            self._check_korean(where)
        self._flush(where)

    def _check_korean(self, where: str):
        text = self.page.locator("body").inner_text()
        for english in sorted(set(ENGLISH_DATE.findall(text))):
            self.problems.append(f"{where}: a date in English order or words: {english!r}")
        shown = self.page.eval_on_selector_all(CHROME, "elements => elements.map(e => e.innerText)")
        for line in sorted({line.strip() for text in shown for line in text.splitlines()} & self.english):
            self.problems.append(f"{where}: shown in English: {line!r}")

    # -- forms

    def _forms_here(self):
        """(key, form, button) for every way to submit a form on the page as it is now."""
        for form in self.page.evaluate(FORMS):
            for button in form["buttons"]:
                name = view_name(urljoin(self.page.url, button["action"])) or button["action"]
                key = (name, button["method"], tuple(form["fields"]), button["name"] or button["text"])
                yield key, form, button

    def _collect_forms(self, address: str):
        if urlsplit(address).path.startswith(ADMIN):
            return
        for key, _form, button in self._forms_here():
            if key in self.forms or key[0] in NOT_FOLLOWED:
                continue
            if self.forms_of is not None and key[0] not in self.forms_of:
                continue
            words = f"{key[0]} {button['text']}".lower()
            self.forms[key] = FormTarget(
                page=address,
                key=key,
                description=f"{key[1].upper()} {key[0]} ({button['text'] or 'no button'}) on {address}",
                last=any(word in words for word in LAST_WORDS),
            )

    def submit_all(self):
        # Logging in changes who is walking: it goes after everything else.
        for target in sorted(self.forms.values(), key=lambda target: (target.last, target.key[0] == "login")):
            try:
                self.submit(target)
            except PlaywrightError as error:
                self.problems.append(f"{target.description}: {error.message.splitlines()[0]}")
            self._flush(target.description)

    def submit(self, target: FormTarget):
        page = self.page
        page.goto(target.page)
        self._events.clear()  # the page itself was checked in the crawl
        found = next(((form, button) for key, form, button in self._forms_here() if key == target.key), None)
        if found is None:
            self.problems.append(f"{target.description}: gone before it was submitted")
            return
        form_info, button_info = found
        form = page.locator("form").nth(form_info["index"])
        form.evaluate(OPEN_FOLDS)
        self.fill(form)
        path = urlsplit(urljoin(page.url, button_info["action"])).path
        method = button_info["method"].upper()

        def answer(response):
            return response.request.method == method and urlsplit(response.url).path == path

        def press():
            if button_info["index"] >= 0:
                form.locator("button, input[type=submit]").nth(button_info["index"]).click()
            else:
                form.evaluate("form => form.requestSubmit()")

        invalid = form.evaluate(INVALID)
        if invalid:
            self.problems.append(f"{target.description}: the browser refuses the input: {invalid}")
            return
        if button_info["htmx"]:
            with page.expect_response(answer):
                press()
            page.wait_for_function(HTMX_DONE)
        else:
            with page.expect_navigation(), page.expect_response(answer):
                press()
        errors = page.locator(FORM_ERRORS).filter(visible=True)
        if errors.count():
            said = errors.first.inner_text()[:200]
            self.problems.append(f"{target.description}: refused valid input: {said!r}")
        if urlsplit(page.url).netloc == self.origin.netloc:
            self.check(f"after {target.description}")

    def fill(self, form):
        """Valid input in every field that needs it; what the page filled in stays."""
        soon = timezone.localdate() + timedelta(days=14)
        for element in form.locator("input, select, textarea").all():
            info = element.evaluate(FIELD)
            name, kind = info["name"], info["type"]
            if not name or info["disabled"] or kind in ("hidden", "submit", "button", "reset"):
                continue
            wanted = self.values.get(name)
            if info["tag"] == "select" and wanted not in info["options"]:
                wanted = None  # a value meant for another form's field of the same name
            if kind == "checkbox" and wanted is True:
                if not info["group"]:
                    element.check()
            elif wanted is not None and kind not in ("checkbox", "radio", "file"):
                if info["tag"] == "select":
                    element.select_option(wanted)
                else:
                    element.fill(wanted)
            elif kind in ("checkbox", "radio"):
                if info["required"] and not info["group"]:
                    element.check()
            elif not info["required"] or (info["value"] and kind != "file"):
                continue
            elif info["tag"] == "select":
                element.select_option(info["options"][:1])
            elif kind == "file":
                element.set_input_files(self.values.get(name) or self.values["<file>"])
            else:
                element.fill(self._typed(kind, info["min"], soon))

    @staticmethod
    def _typed(kind: str, least: str, soon) -> str:
        return {
            "email": "walk@lab.example.org",
            "url": "https://walk.example.org/",
            "date": soon.isoformat(),
            "datetime-local": f"{soon.isoformat()}T10:00",
            "time": "10:00",
            "number": least or "1",
        }.get(kind, "Walked through in a browser")
