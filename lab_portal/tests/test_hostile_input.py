"""Every URL pattern, asked with hostile values in every path segment and query parameter, by an
anonymous visitor and by a researcher: the answer may be a refusal, never a server error.

The patterns come from walking the resolver, so a view added later is asked too. Path segments of
a pattern get the values of a real URL of it found on the demo lab's pages (so the query
parameters reach the view's own code), and then each segment in turn gets every hostile value.
The query parameters are every name the portal's forms declare or its views read.
"""

import re
import uuid
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from django import forms
from django.core.management import call_command
from django.urls import URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

from lab_portal.models import Heartbeat, User

ROOT = Path(__file__).resolve().parents[2]
APPS = ["lab_portal", "papers", "seminars", "reviews"]

HOSTILE = [
    "\x00",
    "a\x00b",
    "-1",
    "0",
    "9" * 30,  # past any integer column
    "2" * 19,  # just past a bigint
    "1.5",
    "true",
    "x" * 5000,
    "\u202eevil\u200b\ufeff",  # right-to-left override, zero-width space, byte-order mark
    "\U0001f600\u0301",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "%ff%fe",  # percent-encoded bytes that are not UTF-8
    " ",
    "2026-13-45",
    "hep-th/9901001v99",
]
# Read through request.GET/POST directly, not through a form.
READS = re.compile(r"""request\.(?:GET|POST)(?:\.get|\.getlist|\.pop)?[\[(]\s*["']([\w-]+)["']""")


def _converters(route: str) -> list[tuple[str, str]]:
    return [(name, conv or "str") for conv, name in re.findall(r"<(?:(\w+):)?(\w+)>", route)]


def parameter_names() -> list[str]:
    """Every field of the portal's forms and every name its views read from GET or POST."""
    for app in APPS:
        __import__(f"{app}.forms")
    names = set()
    todo = [forms.BaseForm]
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        if cls.__module__.split(".")[0] in APPS:
            names.update(getattr(cls, "base_fields", {}))
    for app in APPS:
        for source in (ROOT / app).rglob("*.py"):
            if "tests" not in source.parts and "migrations" not in source.parts:
                names.update(READS.findall(source.read_text()))
    return sorted(names)


def fill(route: str, values: dict[str, str]) -> str:
    def value(match: re.Match) -> str:
        return quote(values[match.group(2)], safe="/" if match.group(1) == "path" else "")

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", value, route)


GENERIC = {"int": "1", "str": "x", "slug": "x", "path": "2401.00001", "uuid": str(uuid.UUID(int=0))}


def examples(client) -> dict[str, dict[str, str]]:
    """Real path values for each pattern, from the links and forms on the demo lab's pages."""
    from django.urls import Resolver404, resolve

    seen, queue, found = set(), ["/", "/papers/", "/seminars/", "/reviews/", "/people/", "/me/"], {}
    while queue and len(seen) < 150:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        for link in re.findall(r'(?:href|action|hx-get|hx-post)="(/[^"#?]*)', response.content.decode()):
            try:
                match = resolve(link)
            except Resolver404:
                continue
            route = match.route
            if route not in found:
                found[route] = {name: str(value) for name, value in match.kwargs.items()}
                queue.append(link)
    return found


def attempts(route: str, converters: list[tuple[str, str]], real: dict[str, str], names: list[str]):
    base = {name: real.get(name, GENERIC.get(conv, "x")) for name, conv in converters}
    for name, _conv in converters:
        for value in HOSTILE:
            yield fill(route, {**base, name: value}), {}
    url = fill(route, base)
    for value in HOSTILE:
        yield url, {name: value for name in names}


@pytest.fixture
def demo_lab(db, settings):
    settings.DEBUG = True  # seed_demo refuses to run outside development
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    settings.DEBUG = False


def ask_everything(client, *, post: bool, real: dict) -> tuple[list[str], int]:
    """The requests that failed with a server error, and how many were sent."""
    names = parameter_names()
    failures, asked = [], 0
    for route, converters in patterns_with_converters():
        if route.startswith("admin/"):
            continue  # Django's own admin, and only staff pass its door
        for url, params in attempts(route, converters, real.get(route, {}), names):
            methods = [("GET", client.get)] + ([("POST", client.post)] if post else [])
            for method, send in methods:
                asked += 1
                try:
                    response = send(url, params)
                except Exception as exc:  # the test client raises the view's error again
                    reason = f"{type(exc).__name__}: {exc}"
                    failures.append(f"{method} {url[:120]!r} {_short(params)}: {reason}"[:400])
                    continue
                if response.status_code >= 500:
                    failures.append(f"{method} {url[:120]!r} {_short(params)}: {response.status_code}")
    return failures, asked


def patterns_with_converters() -> list[tuple[str, list[tuple[str, str]]]]:
    out = []

    def walk(resolver, prefix):
        for entry in resolver.url_patterns:
            pattern = entry.pattern
            route = str(pattern)
            if not isinstance(pattern, RoutePattern):
                route = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<str:\1>", route).strip("^$")
            if isinstance(entry, URLResolver):
                walk(entry, prefix + route)
            else:
                out.append((prefix + route, _converters(prefix + route)))

    walk(get_resolver(), "")
    return out


def _short(params: dict) -> str:
    if not params:
        return ""
    value = next(iter(params.values()))
    return f"?…={value[:20]!r}"


@pytest.fixture(autouse=True)
def _background_alive(db, settings):
    # /healthz answers 503 while no worker or beat has shown it is alive, which is its job: here
    # both have, for the whole walk, so any 5xx is the input's doing.
    settings.WORKER_HEARTBEAT_MAX_AGE = settings.BEAT_HEARTBEAT_MAX_AGE = 24 * 3600
    Heartbeat.record("worker:celery@hostile")
    Heartbeat.record("beat")


def test_no_url_answers_500_to_hostile_input_from_anonymous(client, demo_lab):
    real = examples(_logged_in(client))
    client.logout()

    failures, asked = ask_everything(client, post=True, real=real)

    assert failures == [], "\n".join(failures)
    assert asked > 5000


def test_no_url_answers_500_to_hostile_input_from_a_researcher(client, demo_lab):
    real = examples(_logged_in(client))

    failures, asked = ask_everything(client, post=True, real=real)

    assert failures == [], "\n".join(failures)
    assert asked > 5000


def _logged_in(client):
    client.force_login(User.objects.get(username="minji"))
    return client


def test_the_walk_reaches_every_app_and_real_objects(client, demo_lab):
    routes = [route for route, _converters in patterns_with_converters()]
    real = examples(_logged_in(client))

    assert len(routes) > 80
    assert {route.split("/")[0] for route in routes} >= {"papers", "seminars", "reviews", "me", "people"}
    # Real paths for most patterns with a segment, so query parameters meet the views' own code.
    assert len([r for r in real if "<" in r]) > 20
    assert {"q", "next", "offset"} <= set(parameter_names())
    old_style = fill("papers/<path:arxiv_id>", {"arxiv_id": "hep-th/9901001"})
    assert urlsplit(old_style).path == "/papers/hep-th/9901001"
    assert fill("people/<str:username>/", {"username": "a/\x00"}) == "/people/a%2F%00/"


@pytest.mark.parametrize(
    "url",
    ["/papers/feeds/a%00b/lab.atom", "/seminars/feeds/a%00b/lab.ics", "/people/a%00b/", "/papers/?q=a%00b"],
)
def test_a_nul_byte_in_the_address_is_a_bad_request(client, researcher, url):
    response = client.get(url)

    assert response.status_code == 400
    assert "NUL character" in response.text


def test_a_nul_byte_in_a_posted_field_or_a_cookie_is_a_bad_request(login, researcher):
    client = login(researcher)

    posted = client.post("/papers/search/arxiv/", {"q": "a\x00b"})
    client.cookies["sessionid"] = "abc\x00def"
    cookie = client.get("/papers/")

    assert posted.status_code == 400
    assert cookie.status_code == 400
