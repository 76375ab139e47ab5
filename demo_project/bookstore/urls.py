from django.urls import path

from demo_project.bookstore import cached, views

app_name = "bookstore"

urlpatterns = [
    path("", views.book_list, name="book_list"),
    path("books/", views.book_list, name="book_list_optimised"),
    path("books/naive/", views.book_list_naive, name="book_list_naive"),
    path("books/<int:pk>/", views.book_detail, name="book_detail"),
    path("authors/<int:pk>/", views.author_detail, name="author_detail"),
    path("api/books/", views.api_books, name="api_books"),
    # cached variants (perfkit.cache)
    path("books/cached/", cached.book_list_view, name="book_list_cached"),
    path("books/<int:pk>/cached/", cached.book_detail_view, name="book_detail_cached"),
    path("authors/<int:pk>/cached/", cached.author_detail_view, name="author_detail_cached"),
    path("api/books/cached/", cached.api_books, name="api_books_cached"),
]
