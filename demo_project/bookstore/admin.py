from django.contrib import admin

from demo_project.bookstore.models import Author, Book, Publisher, Review, Tag

admin.site.register([Author, Publisher, Tag, Review])


@admin.register(Book)
class BookAdmin(admin.ModelAdmin):
    list_display = ["title", "author", "publisher", "published", "price"]
    list_select_related = ["author", "publisher"]
    search_fields = ["title", "isbn"]
