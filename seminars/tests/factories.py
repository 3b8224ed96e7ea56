"""Rooms, series and talks for tests."""

from datetime import UTC, datetime, time, timedelta
from itertools import count

from seminars.models import Room, Series, Talk

_numbers = count(1)


def make_room(**fields) -> Room:
    fields.setdefault("name", f"Room {next(_numbers)}")
    fields.setdefault("seats", 40)
    return Room.objects.create(**fields)


def make_talk(**fields) -> Talk:
    """A scheduled hour-long seminar; `starts_at` defaults to a week from now."""
    number = next(_numbers)
    starts_at = fields.pop("starts_at", None) or datetime.now(UTC).replace(microsecond=0) + timedelta(days=7)
    fields.setdefault("title", f"Talk number {number}")
    fields.setdefault("speaker_name", "Ada Lovelace")
    fields.setdefault("ends_at", starts_at + timedelta(hours=1))
    return Talk.objects.create(starts_at=starts_at, **fields)


def insert_talk_raw(cursor, *, title: str, starts_at: datetime, ends_at: datetime, room_id: int) -> None:
    """A scheduled talk written in plain SQL, past every check the application makes."""
    cursor.execute(
        "INSERT INTO seminars_talk (uid, sequence, kind, title, abstract, speaker_name, speaker_affiliation,"
        " speaker_email, speaker_bio, speaker_homepage, speaker_photo, speaker_timezone, starts_at,"
        " ends_at, timezone, room_id, online_link, status, slides, slides_url, recording_url, created_at,"
        " updated_at) VALUES (gen_random_uuid(), 0, 'seminar', %s, '', '', '', '', '', '', '', '', %s, %s,"
        " 'Asia/Seoul', %s, '', 'scheduled', '', '', '', now(), now())",
        [title, starts_at, ends_at, room_id],
    )


def make_series(**fields) -> Series:
    number = next(_numbers)
    fields.setdefault("name", f"Series {number}")
    fields.setdefault("slug", f"series-{number}")
    fields.setdefault("weekday", Series.Weekday.THURSDAY)
    fields.setdefault("start_time", time(16, 0))
    fields.setdefault("timezone", "Asia/Seoul")
    return Series.objects.create(**fields)


def talk_form(**fields) -> dict:
    """The talk form's POST data: a seminar on Thursday 2 July 2026, 16:00 to 17:00 in Seoul."""
    data = {
        "kind": "seminar",
        "title": "Diffusion for video",
        "abstract": "",
        "date": "2026-07-02",
        "start_time": "16:00",
        "end_time": "17:00",
        "timezone": "Asia/Seoul",
        "room": "",
        "online_link": "",
        "capacity": "",
        "host": "",
        "speaker_user": "",
        "speaker_name": "Ada Lovelace",
        "speaker_affiliation": "",
        "speaker_email": "",
        "speaker_homepage": "",
        "speaker_bio": "",
        "speaker_timezone": "",
        "papers": "",
    }
    data.update(fields)
    return data
