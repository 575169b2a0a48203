"""Host management (issue 5): tags, encrypted credentials, CloudStack's maintenance resource states."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("infrastructure", "0002_physical_networks"),
    ]

    operations = [
        migrations.AlterField(
            model_name="host",
            name="status",
            field=models.CharField(choices=[
                ("Up", "Up"), ("Connecting", "Connecting"), ("Disconnected", "Disconnected"), ("Alert", "Alert"),
                ("Down", "Down"), ("Maintenance", "Maintenance"), ("PrepareForMaintenance", "Prepare for maintenance"),
                ("ErrorInMaintenance", "Error in maintenance"),
            ], default="Connecting", max_length=32),
        ),
        migrations.AlterField(
            model_name="host",
            name="resource_state",
            field=models.CharField(choices=[
                ("Enabled", "Enabled"), ("Disabled", "Disabled"), ("PrepareForMaintenance", "Prepare for maintenance"),
                ("ErrorInMaintenance", "Error in maintenance"), ("Maintenance", "Maintenance"),
            ], default="Enabled", max_length=32),
        ),
        migrations.AddField(
            model_name="host",
            name="host_tags",
            field=models.CharField(blank=True, max_length=1024, verbose_name="host tags"),
        ),
        migrations.AddField(
            model_name="host",
            name="username",
            field=models.CharField(blank=True, max_length=255, verbose_name="username"),
        ),
        migrations.AddField(
            model_name="host",
            name="password_encrypted",
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name="host",
            name="disconnected",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
