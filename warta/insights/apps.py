from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InsightsConfig(AppConfig):
    name = "warta.insights"
    verbose_name = _("Analisis")

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from warta.inbox import hooks
        from warta.inbox.models import Ticket

        from .ingest import Analyser, on_ticket_saved

        # Every incoming message is classified at ingest; polls are a routing step there.
        hooks.register_analyser(Analyser())
        from .models import Topic, topic_choices

        hooks.register_topics(topic_choices, lambda code: Topic.objects.filter(code=code).first())
        post_save.connect(on_ticket_saved, sender=Ticket, dispatch_uid="insights.ticket_outcome")
