"""How dates and times read in each of the portal's languages (settings.FORMAT_MODULE_PATH).

Templates and code name a format instead of spelling one out, `{{ day|date:"WEEKDAY_DATE_FORMAT" }}`
or `date_format(day, "DATE_FORMAT")`, so a Korean reader gets "2026년 12월 1일 (화)" where an English
one gets "Tue 1 Dec 2026", on pages and in every e-mail and chat message (those are rendered in the
recipient's language). Each language module defines every name below: a name one of them lacked
would be printed letter by letter as a format of its own.

Formats for machines (ISO dates in form fields, `datetime` attributes, file names) stay literal.
"""

# Every name a language module defines (Django's own among them), with how it reads in English.
NAMES = (
    "DATE_FORMAT",  # 1 July 2026
    "SHORT_DATE_FORMAT",  # 1 Jul 2026
    "DATETIME_FORMAT",  # 1 July 2026, 16:00
    "SHORT_DATETIME_FORMAT",  # 1 Jul 2026 16:00
    "TIME_FORMAT",  # 16:00
    "MONTH_DAY_FORMAT",  # 1 July
    "YEAR_MONTH_FORMAT",  # July 2026
    "SHORT_MONTH_DAY_FORMAT",  # 1 Jul
    "SHORT_MONTH_DAY_TIME_FORMAT",  # 1 Jul 16:00
    "MONTH_DAY_TIME_FORMAT",  # 1 July, 16:00
    "WEEKDAY_DATE_FORMAT",  # Wednesday 1 July 2026
    "WEEKDAY_DATETIME_FORMAT",  # Wednesday 1 July 2026, 16:00
    "WEEKDAY_MONTH_DAY_FORMAT",  # Wednesday 1 July
    "SHORT_WEEKDAY_DATE_FORMAT",  # Wed 1 Jul 2026
    "SHORT_WEEKDAY_DATETIME_FORMAT",  # Wed 1 Jul 2026, 16:00
    "SHORT_WEEKDAY_MONTH_DAY_FORMAT",  # Wed 1 Jul
    "SHORT_WEEKDAY_MONTH_DAY_TIME_FORMAT",  # Wed 1 Jul, 16:00
)
