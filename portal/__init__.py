"""Cirrostack project package: settings, URL roots, ASGI and Celery apps, and the cross-cutting core
(async jobs, events, authorization, the CloudStack and REST door frameworks)."""

from portal.celery import app as celery_app

__all__ = ["celery_app"]
