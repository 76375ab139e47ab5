from django.urls import path

from demo_project.bookstore import views

app_name = "bookstore"

urlpatterns = [
    path("", views.book_list, name="book_list"),
    path("books/", views.book_list, name="book_list_optimised"),
    path("books/naive/", views.book_list_naive, name="book_list_naive"),
    path("books/<int:pk>/", views.book_detail, name="book_detail"),
    path("authors/<int:pk>/", views.author_detail, name="author_detail"),
    path("api/books/", views.api_books, name="api_books"),
]
