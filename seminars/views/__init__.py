"""Seminar views, one module per area of the seminars page: schedule (rooms, series, talks,
requests), sign-up, calendars, speakers and follow-up."""
