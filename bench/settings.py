"""Benchmark settings: the project's own, plus the comparison views of bench/urls.py."""

from config.settings.base import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
