from django.apps import AppConfig


class BookstoreConfig(AppConfig):
    name = "demo_project.bookstore"
    label = "bookstore"
    default_auto_field = "django.db.models.BigAutoField"
