"""Schedules: run probe suites by themselves, forever, without overlap or hangs.

``spec`` reads ``schedules/*.toml``; ``runner`` is the in-process scheduler, starting
each due schedule as a child pytest process (``child``) under a lock (``lock``) with an
injectable clock (``clock``); ``events`` writes JSON-lines logs and the scheduler's own
metrics; ``state`` holds due times and the heartbeat; ``command`` is the CLI group.
"""
