from typing import TYPE_CHECKING

from django.contrib import admin

from demo_project.bookstore.models import Author, Book, Publisher, Review, Tag

if TYPE_CHECKING:  # ModelAdmin is generic in django-stubs only
    _BookAdminBase = admin.ModelAdmin[Book]
else:
    _BookAdminBase = admin.ModelAdmin

admin.site.register([Author, Publisher, Tag, Review])


@admin.register(Book)
class BookAdmin(_BookAdminBase):
    list_display = ["title", "author", "publisher", "published", "price"]
    list_select_related = ["author", "publisher"]
    search_fields = ["title", "isbn"]
