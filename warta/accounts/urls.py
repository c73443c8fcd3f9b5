from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("akun/masuk/", views.LoginView.as_view(), name="login"),
    path("akun/keluar/", auth_views.LogoutView.as_view(), name="logout"),
    path("akun/dua-langkah/", views.otp_verify, name="otp_verify"),
    path("akun/dua-langkah/daftar/", views.otp_setup, name="otp_setup"),
    path("akun/kata-sandi/", views.PasswordChangeView.as_view(), name="password_change"),
    path("akun/lupa-kata-sandi/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "akun/lupa-kata-sandi/terkirim/",
        auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html"),
        name="password_reset_done",
    ),
    path("akun/atur-ulang/<uidb64>/<token>/", views.PasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path(
        "akun/atur-ulang/selesai/",
        auth_views.PasswordResetCompleteView.as_view(template_name="accounts/password_reset_complete.html"),
        name="password_reset_complete",
    ),
    path("pengaturan/pengguna/", views.user_list, name="user_list"),
    path("pengaturan/pengguna/baru/", views.user_edit, name="user_create"),
    path("pengaturan/pengguna/<int:pk>/", views.user_edit, name="user_edit"),
    path("pengaturan/pengguna/<int:pk>/reset-dua-langkah/", views.user_reset_otp, name="user_reset_otp"),
    path("pengaturan/unit/", views.unit_list, name="unit_list"),
    path("pengaturan/unit/baru/", views.unit_edit, name="unit_create"),
    path("pengaturan/unit/<int:pk>/ubah/", views.unit_edit, name="unit_edit"),
    path("unit/<int:pk>/", views.unit_detail, name="unit_detail"),
    path("pengaturan/audit/", views.audit_list, name="audit_list"),
    path("pengaturan/audit/ekspor.csv", views.audit_export, name="audit_export"),
]
