from datetime import UTC, datetime, time, timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from papers.fetching import daily_window, start_daily_run
from papers.models import Category, FetchRun
from papers.tasks import after_fetch, fetch_run

BAR_WIDTH = 30


class Command(BaseCommand):
    help = (
        "Fetch papers submitted or updated on arXiv into the paper store, page by page. Without a "
        "window or a category it is the daily fetch: from where the daily runs got to, less a few "
        "days of overlap, to now."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--category", action="append", dest="categories", metavar="CAT",
            help="an arXiv category such as cs.CV; repeat for more (default: the lab's categories)",
        )  # fmt: skip
        parser.add_argument("--since", metavar="DATE", help="YYYY-MM-DD or YYYY-MM-DDTHH:MM, in UTC")
        parser.add_argument(
            "--until", metavar="DATE", help="YYYY-MM-DD (to the end of that day) or YYYY-MM-DDTHH:MM, in UTC"
        )
        parser.add_argument(
            "--api-url", metavar="URL",
            help=f"base of the query URL (default {settings.ARXIV_API_URL}); with --oai, of OAI-PMH",
        )  # fmt: skip
        parser.add_argument(
            "--delay", type=float, metavar="SECONDS",
            help=f"seconds between requests (default {settings.ARXIV_REQUEST_SPACING:g})",
        )  # fmt: skip
        parser.add_argument("--oai", action="store_true", help="harvest through OAI-PMH instead (backfills)")
        parser.add_argument("--from", dest="from_date", metavar="DATE", help="with --oai: the first day")

    def handle(self, *args, categories, since, until, api_url, delay, oai, from_date, **options):
        if delay is not None and delay < 0:
            raise CommandError("--delay must be zero or more seconds.")
        if from_date and not oai:
            raise CommandError("--from goes with --oai; use --since for the query API.")
        if oai and (since or not from_date):
            raise CommandError("--oai needs --from DATE, the first day to harvest (not --since).")
        if oai:
            # OAI-PMH at arXiv counts in whole days.
            first = moment(from_date, "--from").date()
            last = moment(until, "--until").date() if until else None
            if last and first > last:
                raise CommandError(f"The window is empty: {first} is after {last}.")
            run = self.harvest(since=first, until=last, categories=categories, base_url=api_url)
        else:
            since_at = moment(since, "--since") if since else None
            until_at = moment(until, "--until", end_of_day=True) if until else timezone.now()
            if since_at and since_at >= until_at:
                raise CommandError(
                    f"The window is empty: {since_at:%Y-%m-%d %H:%M} is not before {until_at:%Y-%m-%d %H:%M}."
                )
            # Only the plain command stands in for the daily fetch; a window or a category is a backfill.
            daily = not (since or until or categories)
            run = self.fetch(
                since=since_at,
                until=until_at,
                categories=categories,
                api_url=api_url,
                delay=delay,
                daily=daily,
            )
        self.stdout.write(summary(run))
        if run.status == FetchRun.Status.FAILED:
            where = (
                f"; the next run resumes from {run.checkpoint:%Y-%m-%d %H:%M} UTC" if run.checkpoint else ""
            )
            raise CommandError(
                f"Fetch run {run.pk} failed: {run.error} (kept {count(run.stored, 'paper')}{where})."
            )

    def fetch(self, *, since, until, categories, api_url, delay, daily) -> FetchRun:
        if daily:
            run = start_daily_run()
            if run is None:
                raise CommandError("A daily fetch is already running; try again when it has finished.")
        else:
            # A backfill: it stores, and is never pushed. A category or an end alone reuses the
            # daily window's start.
            run = FetchRun.objects.create(
                kind=FetchRun.Kind.BACKFILL,
                categories=categories or Category.objects.lab_codes(),
                since=since or daily_window(now=until)[0],
                until=until,
            )
        self.stdout.write(
            f"Fetching {', '.join(run.categories)} updated {run.since:%Y-%m-%d %H:%M} "
            f"to {run.until:%Y-%m-%d %H:%M} UTC"
        )
        run = fetch_run(run, api_url=api_url, spacing=delay, progress=self.progress)
        self.end_progress()
        return run

    def harvest(self, *, since, until, categories, base_url) -> FetchRun:
        try:
            # Imported here: the OAI-PMH harvester is a separate module the query API does not need.
            from papers import oai
        except ImportError as exc:
            raise CommandError(f"OAI-PMH harvesting is not available: {exc}") from exc
        categories = categories or Category.objects.lab_codes()
        run = FetchRun.objects.create(kind=FetchRun.Kind.OAI, categories=categories)
        self.stdout.write(
            f"Harvesting {', '.join(categories)} from {since} to {until or 'today'} over OAI-PMH"
        )
        try:
            oai.harvest(
                since=since, until=until, categories=categories, base_url=base_url or settings.ARXIV_OAI_URL,
                run=run, progress=self.progress,
            )  # fmt: skip
        except Exception as exc:
            # The harvester records its own failures; this covers one that escaped it.
            run.refresh_from_db()
            if run.status == FetchRun.Status.RUNNING:
                run.status, run.error, run.finished_at = FetchRun.Status.FAILED, str(exc), timezone.now()
                run.save(update_fields=["status", "error", "finished_at"])
        self.end_progress()
        run.refresh_from_db()
        if run.status == FetchRun.Status.RUNNING:
            run.status, run.finished_at = FetchRun.Status.SUCCEEDED, timezone.now()
            run.save(update_fields=["status", "finished_at"])
        after_fetch(run)
        return run

    def progress(self, done: int, total: int | None = None, *args, **kwargs) -> None:
        line = bar(done, total)
        if self.stdout.isatty():
            self.stdout.write("\r" + line, ending="")
        else:
            self.stdout.write(line)

    def end_progress(self) -> None:
        if self.stdout.isatty():
            self.stdout.write("")


def moment(text: str, option: str, *, end_of_day: bool = False) -> datetime:
    """A date or date and time from the command line, in UTC unless it names its offset."""
    try:
        day = parse_date(text)
        value = None if day else parse_datetime(text)
    except ValueError:
        day = value = None
    if day:
        return datetime.combine(day + timedelta(days=1 if end_of_day else 0), time(), tzinfo=UTC)
    if value:
        return value if timezone.is_aware(value) else value.replace(tzinfo=UTC)
    raise CommandError(f"{option} {text!r} is not a date: use YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC).")


def bar(done: int, total: int | None) -> str:
    if not total:
        return f"[{'#' * BAR_WIDTH}] {done}"
    filled = min(BAR_WIDTH, BAR_WIDTH * done // total)
    return f"[{'#' * filled}{' ' * (BAR_WIDTH - filled)}] {done}/{total}"


def summary(run: FetchRun) -> str:
    seconds = run.duration.total_seconds() if run.duration else 0
    return (
        f"Fetched {count(run.stored, 'paper')} in {count(run.pages, 'page')}: {run.new_count} new, "
        f"{run.updated_count} updated, {run.unchanged_count} unchanged ({seconds:.1f} s)."
    )


def count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
