"""Sign-up benchmark: 500 people press "Sign up" for a 60-seat talk at the same moment.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/signup.py

DATABASE_URL names a PostgreSQL server and a database to connect to for administration; the
benchmark creates its own database `lab_portal_bench_signup_<pid>` on that server, migrates it,
serves the portal from it with gunicorn on 127.0.0.1 (DEBUG off, as in production), and drops
the database at the end, also when it fails or is interrupted. See bench/README.md.

Each person is a real logged-in session (a row in the session table and a CSRF cookie), and each
request is the htmx POST the sign-up button sends. All connections are opened first, then every
request is written at once; a request's latency runs from writing it to the last byte of its
answer. The run passes when exactly `--seats` people are confirmed, everyone else waits with a
distinct place in line, and no answer is a 5xx.
"""

import argparse
import asyncio
import os
import platform
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_SCHEMES = {"postgres", "postgresql", "pgsql"}
SEAT = re.compile(rb"You have a seat\.")
PLACE = re.compile(rb"You are number (\d+) on the waiting list\.")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=500, help="simultaneous sign-ups (default 500)")
    parser.add_argument("--seats", type=int, default=60, help="the talk's capacity (default 60)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (default 4)")
    args = parser.parse_args()
    if not 0 < args.seats <= args.people:
        parser.error("--seats must be between 1 and --people")
    return args


# --- the throwaway database ----------------------------------------------------------------------


def libpq_url(url: str) -> str:
    """DATABASE_URL as libpq takes it (it knows postgres:// and postgresql://, not pgsql://)."""
    return urlunsplit(urlsplit(url)._replace(scheme="postgresql"))


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def create_database(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- the lab: people, their sessions, the talks --------------------------------------------------


def make_people(count: int, prefix: str) -> list[tuple[str, str]]:
    """`count` people, each logged in: (session key, CSRF token) per person."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils.crypto import get_random_string

    from lab_portal.models import User

    password = make_password(None)  # unusable: these people only ever arrive with a session
    people = User.objects.bulk_create(
        User(username=f"{prefix}{n:04d}", email=f"{prefix}{n:04d}@lab.example.org", password=password)
        for n in range(count)
    )
    logins = []
    for person in people:
        session = SessionStore()
        session[SESSION_KEY] = str(person.pk)
        session[BACKEND_SESSION_KEY] = "lab_portal.auth.PasswordBackend"
        session[HASH_SESSION_KEY] = person.get_session_auth_hash()
        session.create()
        # An unmasked 32-character CSRF secret is a valid cookie and a valid header alike.
        logins.append((session.session_key, get_random_string(32)))
    return logins


def make_talks(count: int, capacity: int, title: str) -> list:
    from seminars.models import Talk

    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    return Talk.objects.bulk_create(
        Talk(title=f"{title} {n}", starts_at=starts, ends_at=starts + timedelta(hours=1), capacity=capacity)
        for n in range(count)
    )


def registrations(talk) -> tuple[list, list, int]:
    from seminars.registration import attendees

    confirmed, waiting = attendees(talk)
    return confirmed, waiting, talk.registrations.count()


# --- gunicorn ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(port: int, args: argparse.Namespace, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        # Required with DEBUG off; never dialled, since nobody gives up a seat in this run.
        "EMAIL_URL": os.environ.get("EMAIL_URL", "smtp://127.0.0.1:25"),
        # Plain HTTP on the loopback: no TLS proxy in front, so no redirect to https.
        "BEHIND_TLS_PROXY": "0",
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_HSTS_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
        # WhiteNoise looks for collected static files, which a sign-up never serves.
        "PYTHONWARNINGS": "ignore:No directory at:UserWarning",
    }
    command = [
        sys.executable, "-m", "gunicorn", "lab_portal.wsgi:application",
        "--bind", f"127.0.0.1:{port}", "--workers", str(args.workers),
        "--worker-class", "gthread", "--threads", str(args.threads),
        "--backlog", "2048", "--timeout", "120", "--log-level", "warning",
    ]  # fmt: skip
    with log.open("w") as out:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"gunicorn stopped at start-up:\n{log.read_text()}")
        try:
            status, _body = asyncio.run(fetch(port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"))
            if status == 200:
                return server
        except OSError:
            pass
        time.sleep(0.2)
    server.terminate()
    sys.exit(f"gunicorn did not answer /healthz within a minute:\n{log.read_text()}")


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


# --- the load ------------------------------------------------------------------------------------


def sign_up_request(talk_pk: int, port: int, session: str, csrf: str) -> bytes:
    return (
        f"POST /seminars/talks/{talk_pk}/sign-up/ HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        f"Cookie: sessionid={session}; csrftoken={csrf}\r\n"
        f"X-CSRFToken: {csrf}\r\n"
        "HX-Request: true\r\n"
        "Content-Length: 0\r\n"
    ).encode()


async def fetch(port: int, head: bytes) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head + b"Connection: close\r\n\r\n")
    answer = await reader.read()
    writer.close()
    return int(answer.split(b" ", 2)[1]), answer


async def at_once(port: int, requests: list[bytes]) -> list[tuple[int, float, bytes]]:
    """Open a connection per request, then write every request together; (status, seconds, body)."""
    connections = await asyncio.gather(*(asyncio.open_connection("127.0.0.1", port) for _ in requests))
    go = asyncio.Event()

    async def one(connection, request: bytes) -> tuple[int, float, bytes]:
        reader, writer = connection
        await go.wait()
        started = time.perf_counter()
        writer.write(request + b"Connection: close\r\n\r\n")
        await writer.drain()
        answer = await reader.read()
        seconds = time.perf_counter() - started
        writer.close()
        status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
        return status, seconds, answer

    tasks = [asyncio.create_task(one(c, r)) for c, r in zip(connections, requests, strict=True)]
    await asyncio.sleep(0.2)  # every task is now parked at the starting line
    go.set()
    return await asyncio.gather(*tasks)


def timed(port: int, requests: list[bytes]) -> tuple[list[tuple[int, float, bytes]], float]:
    started = time.perf_counter()
    answers = asyncio.run(at_once(port, requests))
    return answers, time.perf_counter() - started


def percentile(sorted_values: list[float], share: float) -> float:
    """Nearest rank: the smallest value at least `share` of the values do not exceed."""
    rank = max(1, -(-len(sorted_values) * share // 1))
    return sorted_values[int(rank) - 1]


def server_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return cursor.fetchone()[0]


def benchmark(args: argparse.Namespace, log: Path) -> bool:
    from django.core.management import call_command

    print("Migrating the benchmark database ...", flush=True)
    call_command("migrate", verbosity=0)
    print(f"Creating {args.people} people with sessions, a {args.seats}-seat talk and a talk for each ...")
    logins = make_people(args.people, "bench")
    [talk, warm_up] = make_talks(2, args.seats, "Benchmark talk")
    own_talks = make_talks(args.people, args.seats, "A talk of one's own")

    port = free_port()
    print(f"Starting gunicorn on 127.0.0.1:{port}: {args.workers} workers x {args.threads} threads ...")
    server = start_gunicorn(port, args, log)
    try:
        # Each worker thread loads the URLconf and templates and opens its database connection.
        warm = logins[: args.workers * args.threads * 2]
        asyncio.run(at_once(port, [sign_up_request(warm_up.pk, port, *login) for login in warm]))
        print(f"a. {args.people} sign-ups at once for the {args.seats}-seat talk ...", flush=True)
        answers, wall = timed(port, [sign_up_request(talk.pk, port, *login) for login in logins])
        # The same requests where nobody shares a talk, so nobody waits for another's lock: what
        # the shared lock costs, measured on the same machine a minute later.
        print(f"b. {args.people} sign-ups at once, each for a talk of its own ...", flush=True)
        requests = [
            sign_up_request(own.pk, port, *login) for own, login in zip(own_talks, logins, strict=True)
        ]
        apart, apart_wall = timed(port, requests)
    finally:
        stop(server)

    statuses = Counter(status for status, _, _ in answers)
    latencies = sorted(seconds for _, seconds, _ in answers)
    seats_answered = sum(1 for *_, body in answers if SEAT.search(body))
    places_answered = sorted(int(m[1]) for *_, body in answers if (m := PLACE.search(body)))
    confirmed, waiting, rows = registrations(talk)
    waiting_times = {r.created_at for r in waiting}
    # The lock's order is the queue's: everyone confirmed signed up before anyone waiting.
    in_order = not (confirmed and waiting) or max(r.created_at for r in confirmed) < min(waiting_times)
    errors = sum(count for status, count in statuses.items() if status >= 500 or status == 0)
    expected_waiting = args.people - args.seats
    each_place = places_answered == list(range(1, expected_waiting + 1))
    ok = (
        len(confirmed) == args.seats
        and len(waiting) == expected_waiting
        and rows == args.people
        and len(waiting_times) == expected_waiting
        and in_order
        and errors == 0
        and statuses == Counter({200: args.people})
        and seats_answered == args.seats
        and each_place
    )
    p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    apart_latencies = sorted(seconds for _, seconds, _ in apart)
    apart_failed = sum(1 for status, _, _ in apart if status != 200)
    print()
    print(
        f"Results ({datetime.now(UTC):%Y-%m-%d}; {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"PostgreSQL {server_version()}, gunicorn gthread {args.workers}x{args.threads}; load {load}):"
    )
    print(f"a. {args.people} sign-ups at once for one {args.seats}-seat talk")
    answered = ", ".join(f"{count} x {status}" for status, count in sorted(statuses.items()))
    print(f"  answers: {answered}; 5xx or no answer: {errors}")
    print(
        f"  in the database: {len(confirmed)} confirmed, {len(waiting)} waiting ({len(waiting_times)} "
        f"distinct sign-up times), {rows} rows; confirmed before all waiting: {'yes' if in_order else 'NO'}"
    )
    print(
        f'  the panels said: {seats_answered} x "You have a seat", {len(places_answered)} x a place in '
        f"line ({f'each of 1..{expected_waiting} once' if each_place else 'NOT each place once'})"
    )
    print(
        f"  latency: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms; "
        f"all answered in {wall:.2f} s ({args.people / wall:.0f} sign-ups/s)"
    )
    verdict = "met" if ok else "NOT met"
    print(f"  exactly {args.seats} confirmed and {expected_waiting} waiting, no 5xx: {verdict}")
    print(f"b. the same {args.people} people at once, each for a talk of their own (no lock shared)")
    print(
        f"  latency: p50 {percentile(apart_latencies, 0.50) * 1000:.0f} ms, "
        f"p99 {percentile(apart_latencies, 0.99) * 1000:.0f} ms; all answered in {apart_wall:.2f} s "
        f"({args.people / apart_wall:.0f} sign-ups/s; {apart_failed} not 200)"
    )
    print(f"  a / b: the shared talk took {wall / apart_wall:.2f}x as long")
    return ok


def main() -> None:
    args = parse_args()
    url = os.environ.get("DATABASE_URL", "").strip()
    if urlsplit(url).scheme not in POSTGRES_SCHEMES:
        sys.exit(
            "bench/signup.py needs DATABASE_URL to name a PostgreSQL server, e.g.\n"
            "  DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/signup.py\n"
            "It creates (and drops) its own database there, so the user needs CREATEDB."
        )

    import psycopg

    name = f"lab_portal_bench_signup_{os.getpid()}"
    try:
        create_database(url, name)
    except psycopg.Error as exc:
        sys.exit(f"Cannot create the benchmark database {name} through DATABASE_URL: {exc}")
    # `kill` ends the run through the `finally` below, as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    log = Path(tempfile.gettempdir()) / f"lab_portal_bench_signup_{os.getpid()}.log"
    ok = False
    try:
        os.environ["DATABASE_URL"] = with_database(url, name)
        os.environ["DJANGO_SETTINGS_MODULE"] = "lab_portal.settings"
        # Sessions are signed: this process, which makes them, and gunicorn must share the key.
        os.environ["SECRET_KEY"] = secrets.token_urlsafe(50)
        os.environ.pop("REDIS_URL", None)  # the cache plays no part in signing up
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        ok = benchmark(args, log)
    finally:
        if "django.db" in sys.modules:
            from django.db import connections

            connections.close_all()
        drop_database(url, name)
        print(f"Dropped database {name}.")
        if log.exists() and log.stat().st_size:
            print(f"gunicorn's log: {log}")
        else:
            log.unlink(missing_ok=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
