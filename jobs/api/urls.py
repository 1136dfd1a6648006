from django.urls import path

from jobs.api.views import JobDetailApi

urlpatterns = [
    path("jobs/<uuid:job_id>/", JobDetailApi.as_view(), name="job-detail"),
]
