"""Signals other parts of the seminars app listen to.

`talk_changed` is sent by `seminars.services` inside the transaction that saved the change,
with `talk` (the saved Talk), `changed` (a set of field names among Talk.SCHEDULE_FIELDS and
"title", "timezone") and `old` (a dict of those fields' previous values; `room` is the room's
id). Cancelling a talk sends it with changed={"status"}. Receivers that send or enqueue should
do so with `transaction.on_commit`.
"""

from django.dispatch import Signal

talk_changed = Signal()
