from django.urls import path

from . import views

app_name = "gateway"

urlpatterns = [
    path("", views.connection_list, name="connections"),
    path("bind/", views.bind_states, name="bind_states"),
    path("tambah/", views.connection_add, name="connection_add"),
    path("<int:pk>/", views.connection_edit, name="connection_edit"),
]
