"""Load the DKI Jakarta region tree shipped in warta/contacts/data (MIT, see its README)."""

from django.db import migrations


def load(apps, schema_editor):  # type: ignore[no-untyped-def]
    from warta.contacts.regions import load_regions

    load_regions(apps.get_model("contacts", "Region"))


class Migration(migrations.Migration):
    dependencies = [("contacts", "0001_initial")]

    # Reversing keeps the rows: contacts point at them, and loading again is idempotent.
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
