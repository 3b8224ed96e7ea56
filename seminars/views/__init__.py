"""Seminar views, one module per part of the issue: schedule (rooms, series, talks, requests),
sign-up, calendars, speakers and follow-up."""
