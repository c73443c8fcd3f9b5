"""Static files: hashed names and compression (WhiteNoise), and no 500 without a manifest.

``warta web`` runs ``collectstatic`` before it starts, so the manifest matches the code it serves.
Should the manifest still be missing or lack a file (the web server started some other way, a
read-only install that skipped the step), Django's manifest storage raises on every
``{% static %}`` and every page answers 500; here the page is served with the plain URL instead
and the problem is logged once, naming the command that fixes it.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.files.storage import FileSystemStorage
from whitenoise.storage import CompressedManifestStaticFilesStorage

log = logging.getLogger(__name__)


class StaticStorage(CompressedManifestStaticFilesStorage):
    _warned = False

    def url(self, name: Any, force: bool = False) -> str:
        try:
            return super().url(name, force)
        except ValueError:
            from django.contrib.staticfiles import finders

            if not finders.find(name):
                # Not a static file of ours: the ValueError is the answer. WhiteNoise asks for
                # such names at every worker's start (``immutable_file_test``: it strips what it
                # takes for a hash from ``htmx-2.0.11.min.js`` and asks for ``htmx-2.0.11.js``)
                # and expects it; logging there was a false "not collected" at every start, and
                # it used up the one warning a real uncollected file should get.
                raise
            if not StaticStorage._warned:
                StaticStorage._warned = True
                log.error("static files are not collected (no manifest entry for %s): run "
                          "`warta collectstatic --noinput` (warta web does it at start)", name)
            return FileSystemStorage.url(self, name)
