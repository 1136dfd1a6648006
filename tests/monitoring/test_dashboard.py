"""/admin/performance/: the admin page that frames the live dashboard."""

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from monitoring.dashboard import CHARTS
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/admin/performance/"


def test_anonymous_is_sent_to_the_admin_login():
    response = Client().get(URL)

    assert response.status_code == 302
    assert response["Location"] == f"/admin/login/?next={URL}"


def test_a_user_who_is_not_staff_is_sent_to_the_admin_login():
    client = Client()
    client.force_login(UserFactory())

    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_staff_get_the_page_its_charts_script_and_a_csrf_cookie():
    client = Client()
    client.force_login(StaffFactory())

    response = client.get(URL)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    for chart_id, _title, _unit in CHARTS:
        assert f'id="{chart_id}"' in html
    for table_id in ("perf-queues", "perf-slow-queries", "perf-failed-jobs"):
        assert f'id="{table_id}"' in html
    assert '<script src="/static/monitoring/dashboard.js" defer>' in html
    assert 'href="/static/monitoring/dashboard.css"' in html
    assert 'data-data-url="/api/admin/performance/dashboard"' in html
    assert 'data-retry-url="/api/admin/performance/jobs/retry"' in html
    # The admin's frame: breadcrumbs back to the index.
    assert '<div class="breadcrumbs">' in html
    assert 'href="/admin/"' in html
    # The script posts with the token; the cookie must be set for it to match.
    assert response.cookies["csrftoken"].value
    assert 'name="csrfmiddlewaretoken"' in html


def test_the_static_files_exist():
    assert finders.find("monitoring/dashboard.js")
    assert finders.find("monitoring/dashboard.css")


def test_the_admin_index_links_to_the_dashboard():
    client = Client()
    client.force_login(StaffFactory())

    response = client.get("/admin/")

    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="{URL}"' in html
    # Still Django's index underneath (the override extends it).
    assert 'id="content-main"' in html
