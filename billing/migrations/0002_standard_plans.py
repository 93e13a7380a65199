from django.db import migrations


def create_standard_plans(apps, schema_editor):
    from billing.plans import STANDARD_PLANS

    Plan = apps.get_model("billing", "Plan")
    for spec in STANDARD_PLANS:
        Plan.objects.get_or_create(code=spec["code"], defaults={k: v for k, v in spec.items() if k != "code"})


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]
    operations = [migrations.RunPython(create_standard_plans, migrations.RunPython.noop)]
