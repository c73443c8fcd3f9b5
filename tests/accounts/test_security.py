"""Security review: the second factor guards every account page that changes something."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD, confirm_totp, login


@pytest.fixture(autouse=True)
def _reset_axes(db: Any) -> None:
    from axes.models import AccessAttempt

    AccessAttempt.objects.all().delete()


def test_password_change_requires_the_second_factor(client: Client, actors: dict[str, Any]) -> None:
    admin = actors["admin"]
    confirm_totp(admin)
    client.post("/akun/masuk/", {"username": "admin", "password": PASSWORD})  # password only, no code yet
    new = "Sandi-Baru-Yang-Panjang-1"
    response = client.post(reverse("accounts:password_change"),
                           {"old_password": PASSWORD, "new_password1": new, "new_password2": new})
    assert response.status_code == 302 and response.url.startswith(reverse("accounts:otp_verify"))
    admin.refresh_from_db()
    assert admin.check_password(PASSWORD)
    # Still reachable once the second factor is given.
    login(client, admin)
    assert client.get(reverse("accounts:password_change")).status_code == 200


def test_login_verify_and_logout_stay_reachable_before_the_second_factor(client: Client, actors: dict[str, Any]) -> None:
    confirm_totp(actors["admin"])
    client.post("/akun/masuk/", {"username": "admin", "password": PASSWORD})
    assert client.get(reverse("accounts:otp_verify")).status_code == 200
    assert client.post(reverse("accounts:logout")).status_code == 302
