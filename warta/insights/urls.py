from django.urls import path

from . import views

app_name = "insights"

urlpatterns = [
    path("", views.index, name="index"),
    path("grafik/<slug:name>.<str:fmt>", views.chart_download, name="chart"),
    path("dampak-blast/", views.impact_list, name="impact"),
    path("koreksi/<int:pk>/", views.correct, name="correct"),
    path("topik/", views.topics, name="topics"),
    path("leksikon/", views.lexicon, name="lexicon"),
    path("model/", views.models_page, name="models"),
    path("jajak/", views.polls, name="polls"),
    path("jajak/baru/", views.poll_new, name="poll_new"),
    path("jajak/<int:pk>/", views.poll_detail, name="poll"),
    path("jajak/<int:pk>/hasil.<str:fmt>", views.poll_export, name="poll_export"),
]
