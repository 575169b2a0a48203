"""The Celery application. Hypervisor work runs here, in worker processes, never in a web request."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("cirrostack")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
