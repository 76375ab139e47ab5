"""The perfkit demo project: a bookstore with realistic data."""

try:  # the Celery app loads with Django so that @shared_task binds to it
    from demo_project.celery import app as celery_app
except ImportError:  # the celery extra is not installed: the demo runs without it
    celery_app = None  # type: ignore[assignment]

__all__ = ["celery_app"]
