from django.urls import path

from . import views

urlpatterns = [
    path("dashboard/", views.dashboard),
    path("api/me/", views.api_me),
    path("api/broken/", views.api_broken),
    path("api/broken-cached/", views.api_broken_cached),
    path("public/", views.public),
    path("profile/<int:user_id>/", views.profile),
]
