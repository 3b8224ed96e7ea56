"""Tasks that exist only for the tests; the test worker loads them with --include."""

from celery import shared_task


@shared_task(name="lab_portal.tests.boom")
def boom(number: int, *, why: str) -> None:
    raise ValueError(f"boom {number}: {why}")
