from zoneinfo import ZoneInfo

from celery.schedules import crontab


class zoned_crontab(crontab):  # named like the crontab it extends
    """A crontab read on another zone's wall clock, so daylight saving moves it with that zone."""

    def __init__(self, *args, zone: str, **kwargs):
        self.zone = zone
        super().__init__(*args, **kwargs)

    @property
    def tz(self):
        return ZoneInfo(self.zone)

    def __reduce__(self):
        return (_rebuild, (self._orig_minute, self._orig_hour, self._orig_day_of_week, self.zone))


def _rebuild(minute, hour, day_of_week, zone):
    return zoned_crontab(minute=minute, hour=hour, day_of_week=day_of_week, zone=zone)
