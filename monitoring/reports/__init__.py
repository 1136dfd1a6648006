"""Scheduled reports: figures built from the source tables, stored as a
``Report``, rendered as CSV and as HTML with charts, viewed in the admin and
emailed to ``REPORT_RECIPIENTS``.

``services.report_generate`` is the one way in (job, command, tests).
"""
