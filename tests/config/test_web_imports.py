"""The web process does not import what only workers need (issue 9: RSS).

matplotlib (+numpy), reportlab and Pillow cost each gunicorn worker ~45 MiB
when imported at module level; they are imported inside the functions that
render charts, invoice PDFs and image variants. A new module-level import
anywhere on the web's import path would silently undo that, so a fresh
process loads the WSGI app, its URLconf and serves one request, then looks.
"""

from tests.subprocess_env import run_python

# Modules the web process must not load just to start and serve requests.
WORKER_ONLY = ("matplotlib", "numpy", "reportlab", "PIL")

WEB_PROCESS = """
import json, sys
from config.wsgi import application
from django.test import Client
from django.urls import get_resolver
from jobs.registry import job_types

get_resolver().url_patterns  # every view module, as the first request does
status = Client(HTTP_HOST="localhost").get("/health").status_code
print(json.dumps({
    "status": status,
    "loaded": sorted(name for name in %r if name in sys.modules),
    "job_types": sorted(job_types()),
}))
"""


def test_web_process_loads_no_worker_only_libraries():
    # when a fresh process loads the WSGI app and serves a request
    result = run_python(WEB_PROCESS % (WORKER_ONLY,), env={})
    # then none of the renderers' libraries was imported
    assert result["status"] == 200
    assert result["loaded"] == []
    # and the job types whose handlers use them are still registered, so the
    # web can enqueue them by name
    assert {"orders.render_invoice", "images.process", "reports.generate"} <= set(
        result["job_types"]
    )
