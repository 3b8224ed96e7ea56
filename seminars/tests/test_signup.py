"""Sign-up: seats, the waiting list in order, promotion on cancel, the host's attendee list."""

import csv
import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test import Client

from seminars.models import Talk
from seminars.registration import attendees, cancel, fill_seats, seat_for, sign_up
from seminars.tests.factories import make_talk

CONFIRMED, WAITLISTED, CANCELLED = "confirmed", "waitlisted", "cancelled"
HTMX = {"HX-Request": "true"}


def client_for(user, **options) -> Client:
    client = Client(**options)
    client.force_login(user)
    return client


def post(user, talk, action="sign-up", **options):
    url = f"/seminars/talks/{talk.pk}/sign-up/" + ("cancel/" if action == "cancel" else "")
    return client_for(user).post(url, **options)


def statuses(talk) -> dict[str, str]:
    return dict(talk.registrations.values_list("user__username", "status"))


def waiting_order(talk) -> list[str]:
    _confirmed, waiting = attendees(talk)
    return [registration.user.username for registration in waiting]


@pytest.fixture
def people(make_person):
    return [make_person(name) for name in ("ana", "ben", "cho", "dev", "eun")]


# --- seats and the waiting list ------------------------------------------------------------------


@pytest.mark.django_db
def test_sign_up_confirms_until_full_then_waitlists_in_order(people):
    talk = make_talk(capacity=2)

    for person in people[:4]:
        post(person, talk, headers=HTMX)

    assert statuses(talk) == {"ana": CONFIRMED, "ben": CONFIRMED, "cho": WAITLISTED, "dev": WAITLISTED}
    assert waiting_order(talk) == ["cho", "dev"]
    assert seat_for(talk, people[3]).position == 2
    assert seat_for(talk, people[4]).is_full


@pytest.mark.django_db
def test_sign_up_with_htmx_answers_with_the_panel_only(people):
    talk = make_talk(capacity=1)
    post(people[0], talk)

    response = post(people[1], talk, headers=HTMX)

    assert response.status_code == 200
    assert "<html" not in response.text
    assert f'id="signup-{talk.pk}"' in response.text
    assert "You are number 1 on the waiting list." in response.text
    assert "Leave the waiting list" in response.text
    assert response["Vary"] and "HX-Request" in response["Vary"]


@pytest.mark.django_db
def test_sign_up_without_htmx_redirects_to_the_talk_with_a_message(people):
    talk = make_talk(capacity=5)

    response = post(people[0], talk, follow=True)

    assert response.redirect_chain == [(f"/seminars/talks/{talk.pk}/", 302)]
    assert "You have a seat at this talk." in response.text
    assert "You have a seat." in response.text
    assert "4 of 5 seats left" in response.text
    assert "Give up my seat" in response.text


@pytest.mark.django_db
def test_waitlisted_without_htmx_is_told_their_place_in_line(people):
    talk = make_talk(capacity=1)
    post(people[0], talk)
    post(people[1], talk)

    response = post(people[2], talk, follow=True)

    assert "The talk is full: you are number 2 on the waiting list." in response.text
    assert "Leave the waiting list" in response.text


@pytest.mark.django_db
def test_talk_page_shows_seats_left_and_the_place_in_line(people):
    talk = make_talk(capacity=1)
    post(people[0], talk)
    post(people[1], talk)
    post(people[2], talk)

    page = client_for(people[2]).get(f"/seminars/talks/{talk.pk}/")

    assert "All seats are taken · 2 people waiting" in page.text
    assert "You are number 2 on the waiting list." in page.text
    assert "Attendee list" not in page.text


@pytest.mark.django_db
def test_unlimited_capacity_confirms_everyone(people):
    talk = make_talk(capacity=None)

    for person in people:
        post(person, talk)

    assert set(statuses(talk).values()) == {CONFIRMED}
    page = client_for(people[0]).get(f"/seminars/talks/{talk.pk}/")
    assert "No seat limit · 5 people signed up" in page.text
    assert "Join the waiting list" not in page.text


# --- cancelling and promotion --------------------------------------------------------------------


@pytest.mark.django_db
def test_cancel_promotes_the_first_waiter_and_mails_them_after_commit(
    people, django_capture_on_commit_callbacks
):
    talk = make_talk(capacity=1, title="Diffusion & friends")
    for person in people[:3]:
        sign_up(talk, person)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post(people[0], talk, "cancel", headers=HTMX)
    assert mail.outbox == []  # nothing is sent before the transaction commits
    with django_capture_on_commit_callbacks(execute=True):  # the task's own deliveries commit too
        for callback in callbacks:
            callback()

    assert "You gave up your seat." in response.text
    assert statuses(talk) == {"ana": CANCELLED, "ben": CONFIRMED, "cho": WAITLISTED}
    promoted = talk.registrations.get(user=people[1])
    assert promoted.promoted_at is not None
    assert waiting_order(talk) == ["cho"]
    [message] = mail.outbox
    assert message.to == ["ben@lab.example.org"]
    assert message.subject == "You have a seat at “Diffusion & friends”"
    assert "Diffusion & friends" in message.body  # plain text: not HTML-escaped
    assert f"/seminars/talks/{talk.pk}/" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and "Diffusion &amp; friends" in html


@pytest.mark.django_db
def test_leaving_the_waiting_list_promotes_nobody(people, django_capture_on_commit_callbacks):
    talk = make_talk(capacity=1)
    for person in people[:3]:
        sign_up(talk, person)

    with django_capture_on_commit_callbacks(execute=True):
        response = post(people[1], talk, "cancel", follow=True)

    assert "You left the waiting list." in response.text
    assert statuses(talk) == {"ana": CONFIRMED, "ben": CANCELLED, "cho": WAITLISTED}
    assert seat_for(talk, people[2]).position == 1
    assert mail.outbox == []


@pytest.mark.django_db
def test_signing_up_again_reuses_the_row_and_joins_at_the_back(people, django_capture_on_commit_callbacks):
    talk = make_talk(capacity=1)
    for person in people[:3]:
        sign_up(talk, person)
    first = talk.registrations.get(user=people[1])
    cancel(talk, people[1])

    again = sign_up(talk, people[1])

    assert again.pk == first.pk
    assert again.created_at > first.created_at
    assert talk.registrations.count() == 3
    assert waiting_order(talk) == ["cho", "ben"]
    with django_capture_on_commit_callbacks(execute=True):
        cancel(talk, people[0])
    assert statuses(talk)["cho"] == CONFIRMED
    assert [m.to for m in mail.outbox] == [["cho@lab.example.org"]]


@pytest.mark.django_db
def test_raising_capacity_fills_seats_in_order_and_lowering_it_unconfirms_nobody(
    people, django_capture_on_commit_callbacks
):
    talk = make_talk(capacity=1)
    for person in people[:4]:
        sign_up(talk, person)

    Talk.objects.filter(pk=talk.pk).update(capacity=3)
    with django_capture_on_commit_callbacks(execute=True):
        promoted = fill_seats(talk)

    assert [r.user.username for r in promoted] == ["ben", "cho"]
    assert sorted(to for m in mail.outbox for to in m.to) == ["ben@lab.example.org", "cho@lab.example.org"]
    assert waiting_order(talk) == ["dev"]

    Talk.objects.filter(pk=talk.pk).update(capacity=1)
    talk.refresh_from_db()
    assert fill_seats(talk) == []
    assert list(statuses(talk).values()).count(CONFIRMED) == 3
    assert seat_for(talk, people[4]).seats_left == 0
    assert sign_up(talk, people[4]).status == WAITLISTED


@pytest.mark.django_db
def test_editing_a_talk_to_more_seats_promotes_the_waiting(people, django_capture_on_commit_callbacks):
    from seminars.services import update_talk

    talk = make_talk(capacity=1)
    for person in people[:3]:
        sign_up(talk, person)
    old = talk.schedule_snapshot()
    talk.capacity = 2

    with django_capture_on_commit_callbacks(execute=True):
        update_talk(talk, old=old)

    assert statuses(talk) == {"ana": CONFIRMED, "ben": CONFIRMED, "cho": WAITLISTED}
    assert [m.to for m in mail.outbox] == [["ben@lab.example.org"]]


@pytest.mark.django_db
def test_a_mail_server_failing_for_one_promoted_person_keeps_no_one_else_from_hearing(
    people, django_capture_on_commit_callbacks, monkeypatch
):
    from seminars import notices, registration

    talk = make_talk(capacity=1, title="Scaling laws")
    for person in people[:4]:
        sign_up(talk, person)
    real_send = notices.send_notice

    def send(recipients, *args, **kwargs):
        if recipients[0].username == "ben":
            raise ConnectionRefusedError("the mail server is down")
        return real_send(recipients, *args, **kwargs)

    monkeypatch.setattr(registration, "send_notice", send)
    talk.refresh_from_db()

    with django_capture_on_commit_callbacks(execute=True):
        response = post(people[0], talk, "cancel", headers=HTMX)  # frees ana's seat for ben
        Talk.objects.filter(pk=talk.pk).update(capacity=3)
        fill_seats(Talk.objects.get(pk=talk.pk))  # two more seats: cho and dev

    assert response.status_code == 200
    assert statuses(talk) == {"ana": CANCELLED, "ben": CONFIRMED, "cho": CONFIRMED, "dev": CONFIRMED}
    assert sorted(m.to[0] for m in mail.outbox) == ["cho@lab.example.org", "dev@lab.example.org"]


@pytest.mark.django_db
def test_a_seat_given_up_again_before_the_message_went_is_not_announced(people):
    from seminars.registration import tell_promoted

    talk = make_talk(capacity=1)
    for person in people[:2]:
        sign_up(talk, person)
    cancel(talk, people[0])  # ben is promoted (in a test, callbacks do not run)
    ben = talk.registrations.get(user=people[1])
    cancel(talk, people[1])

    assert tell_promoted(ben.pk) is False
    assert mail.outbox == []


# --- refusals: a clear message and no change -----------------------------------------------------


@pytest.mark.django_db
def test_signing_up_twice_says_so_and_changes_nothing(people):
    talk = make_talk(capacity=1)
    post(people[0], talk)
    post(people[1], talk)
    before = list(talk.registrations.values_list("pk", "status", "created_at", "updated_at"))

    seated = post(people[0], talk, headers=HTMX)
    waiting = post(people[1], talk, follow=True)

    assert "You already have a seat at this talk." in seated.text
    assert 'role="alert"' in seated.text
    assert "You are already on the waiting list for this talk, as number 1." in waiting.text
    assert list(talk.registrations.values_list("pk", "status", "created_at", "updated_at")) == before


@pytest.mark.django_db
def test_a_cancelled_talk_refuses_sign_up_and_cancel(people):
    talk = make_talk(capacity=5)
    sign_up(talk, people[0])
    Talk.objects.filter(pk=talk.pk).update(status=Talk.Status.CANCELLED)

    refused = post(people[1], talk, follow=True)
    kept = post(people[0], talk, "cancel", headers=HTMX)

    assert "This talk is cancelled, so sign-up is closed." in refused.text
    assert "This talk is cancelled: its sign-ups no longer change." in kept.text
    assert "Sign-up is closed: the talk is cancelled." in kept.text
    assert "<button" not in kept.text
    assert statuses(talk) == {"ana": CONFIRMED}


@pytest.mark.django_db
def test_sign_up_closes_when_the_talk_starts(people):
    start = datetime(2026, 12, 10, 7, 0, tzinfo=UTC)
    with time_machine.travel(start - timedelta(days=1), tick=False):
        talk = make_talk(capacity=1, starts_at=start)
        sign_up(talk, people[0])
        sign_up(talk, people[1])
        before = list(talk.registrations.values_list("pk", "status", "updated_at"))

    with time_machine.travel(start, tick=False):
        late = post(people[2], talk, headers=HTMX)
        leaving = post(people[0], talk, "cancel", follow=True)

    assert "Sign-up closed when the talk started." in late.text
    assert "<button" not in late.text
    assert "The talk has started: its sign-ups no longer change." in leaving.text
    assert list(talk.registrations.values_list("pk", "status", "updated_at")) == before


@pytest.mark.django_db
def test_cancelling_without_a_sign_up_says_so(people):
    talk = make_talk(capacity=1)

    response = post(people[0], talk, "cancel", headers=HTMX)

    assert "You are not signed up for this talk." in response.text
    assert not talk.registrations.exists()


# --- who may do what -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_sign_up_is_a_post_with_csrf_and_needs_a_login(people):
    talk = make_talk(capacity=5)
    url = f"/seminars/talks/{talk.pk}/sign-up/"
    strict = client_for(people[0], enforce_csrf_checks=True)

    assert strict.get(url).status_code == 405
    assert strict.post(url).status_code == 403
    anonymous = Client().post(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/?next=")
    assert post(people[0], Talk(pk=talk.pk + 1000)).status_code == 404
    assert not talk.registrations.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["attendees/", "attendees.csv"])
def test_attendee_list_is_for_the_host_and_leads(path, make_person, lead, other_researcher):
    host = make_person("host")
    talk = make_talk(capacity=5, host=host)
    sign_up(talk, other_researcher)
    url = f"/seminars/talks/{talk.pk}/{path}"

    assert client_for(host).get(url).status_code == 200
    assert client_for(lead).get(url).status_code == 200
    assert client_for(other_researcher).get(url).status_code == 403
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    assert client_for(host).get(f"/seminars/talks/{talk.pk + 1000}/{path}").status_code == 404


@pytest.mark.django_db
def test_host_sees_the_confirmed_and_the_waiting_in_order(make_person, people):
    host = make_person("host")
    talk = make_talk(capacity=2, host=host)
    people[3].display_name = "<b>Dev</b>"
    people[3].save()
    for person in people[:4]:
        sign_up(talk, person)

    page = client_for(host).get(f"/seminars/talks/{talk.pk}/attendees/")
    panel = client_for(host).get(f"/seminars/talks/{talk.pk}/")

    text = page.text
    assert "2 of 2 seats taken" in text and "Waiting list: 2 people" in text
    assert text.index("Ana") < text.index("Ben") < text.index("Cho") < text.index("&lt;b&gt;Dev&lt;/b&gt;")
    assert "<b>Dev</b>" not in text
    assert "Attendee list" in panel.text


@pytest.mark.django_db
def test_attendee_list_query_count_does_not_grow(
    make_person, django_assert_num_queries, django_assert_max_num_queries
):
    host = make_person("host")
    talk = make_talk(capacity=10, host=host)
    client = client_for(host)
    sign_up(talk, make_person("first"))
    client.get(f"/seminars/talks/{talk.pk}/attendees/")
    with django_assert_max_num_queries(20) as one:
        client.get(f"/seminars/talks/{talk.pk}/attendees/")
    for number in range(29):
        sign_up(talk, make_person(f"person{number}"))

    with django_assert_num_queries(len(one.captured_queries)):
        response = client.get(f"/seminars/talks/{talk.pk}/attendees/")
    assert "Waiting list: 20 people" in response.text


@pytest.mark.django_db
def test_attendee_csv_lists_everyone_in_order_and_defuses_formulas(make_person, team):
    host = make_person("host")
    talk = make_talk(capacity=2, host=host)
    names = ['=HYPERLINK("http://evil")', "김민지", "+1+2", "-2", "@SUM(A1)", "\tTab"]
    for number, name in enumerate(names):
        sign_up(talk, make_person(f"p{number}", display_name=name, team=team if number == 1 else None))

    response = client_for(host).get(f"/seminars/talks/{talk.pk}/attendees.csv")

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="talk-{talk.pk}-attendees.csv"'
    rows = list(csv.reader(response.content.decode("utf-8-sig").splitlines()))
    assert rows[0] == ["Status", "Place in line", "Name", "Username", "E-mail", "Team", "Signed up"]
    assert [row[:3] for row in rows[1:]] == [
        ["Confirmed", "", '\'=HYPERLINK("http://evil")'],
        ["Confirmed", "", "김민지"],
        ["On the waiting list", "1", "'+1+2"],
        ["On the waiting list", "2", "'-2"],
        ["On the waiting list", "3", "'@SUM(A1)"],
        ["On the waiting list", "4", "'\tTab"],
    ]
    assert rows[2][3:6] == ["p1", "p1@lab.example.org", "Vision"]
    assert datetime.fromisoformat(rows[1][6]).utcoffset() == timedelta(hours=9)  # the viewer's zone


# --- real concurrency (PostgreSQL) ---------------------------------------------------------------


def needs_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL: SQLite has no row locks and one writer at a time")


def run_at_once(work, items) -> list[BaseException]:
    """Run `work(item)` for every item in its own thread and connection, all released together."""
    barrier = threading.Barrier(len(items))
    errors = []

    def run(item):
        try:
            connection.ensure_connection()
            barrier.wait(timeout=60)
            work(item)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


@pytest.mark.django_db(transaction=True)
def test_forty_people_at_once_fill_exactly_ten_seats(make_person):
    needs_postgresql()
    talk = make_talk(capacity=10)
    crowd = [make_person(f"crowd{number:02d}") for number in range(40)]

    errors = run_at_once(lambda person: sign_up(talk, person), crowd)

    assert errors == []
    confirmed, waiting = attendees(talk)
    assert len(confirmed) == 10 and len(waiting) == 30
    assert [r.position for r in waiting] == list(range(1, 31))
    assert len({r.created_at for r in waiting}) == 30
    # The seats went to the first ten through the lock, and the queue continues where they end.
    assert max(r.created_at for r in confirmed) < min(r.created_at for r in waiting)


@pytest.mark.django_db(transaction=True)
def test_cancellations_at_once_never_leave_a_seat_free_while_people_wait(make_person):
    needs_postgresql()
    talk = make_talk(capacity=10)
    crowd = [make_person(f"crowd{number:02d}") for number in range(30)]
    for person in crowd:
        sign_up(talk, person)
    mail.outbox.clear()  # the first ten's seat confirmations: only the promotions are counted below
    first_waiting = [r.user_id for r in attendees(talk)[1][:10]]
    seen, stop = [], threading.Event()

    def watch():
        # One statement, one snapshot: a cancel committed apart from its promotion shows here.
        try:
            while not stop.is_set():
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT count(*) FILTER (WHERE status = 'confirmed'), "
                        "count(*) FILTER (WHERE status = 'waitlisted') "
                        "FROM seminars_registration WHERE talk_id = %s",
                        [talk.pk],
                    )
                    seen.append(cursor.fetchone())
        finally:
            connection.close()

    watcher = threading.Thread(target=watch)
    watcher.start()
    errors = run_at_once(lambda person: cancel(talk, person), crowd[:10])
    stop.set()
    watcher.join(timeout=30)

    assert errors == []
    assert len(seen) > 1
    assert {confirmed for confirmed, waiting in seen if waiting > 0} == {10}
    confirmed, waiting = attendees(talk)
    assert sorted(r.user_id for r in confirmed) == sorted(first_waiting)
    assert len(waiting) == 10
    assert sorted(to for m in mail.outbox for to in m.to) == sorted(
        f"crowd{number:02d}@lab.example.org" for number in range(10, 20)
    )
