from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BlastsConfig(AppConfig):
    name = "warta.blasts"
    verbose_name = _("Naskah & Blast")
