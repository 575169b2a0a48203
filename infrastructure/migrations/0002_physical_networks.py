"""Zone/pod network settings, physical networks and their traffic types (issue 5)."""

import uuid

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("infrastructure", "0001_initial"),
    ]

    operations = [
        migrations.AddField(model_name="zone", name="dns2", field=models.CharField(blank=True, max_length=64)),
        migrations.AddField(model_name="zone", name="internal_dns2",
                            field=models.CharField(blank=True, max_length=64)),
        migrations.AddField(model_name="zone", name="guest_cidr",
                            field=models.CharField(blank=True, max_length=64, verbose_name="guest CIDR")),
        migrations.AddField(model_name="zone", name="network_domain",
                            field=models.CharField(blank=True, max_length=255, verbose_name="network domain")),
        migrations.AddField(model_name="pod", name="start_ip",
                            field=models.CharField(blank=True, max_length=64, verbose_name="start IP")),
        migrations.AddField(model_name="pod", name="end_ip",
                            field=models.CharField(blank=True, max_length=64, verbose_name="end IP")),
        migrations.CreateModel(
            name="PhysicalNetwork",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("uuid", models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ("name", models.CharField(max_length=255, verbose_name="name")),
                ("state", models.CharField(choices=[("Enabled", "Enabled"), ("Disabled", "Disabled")],
                                           default="Disabled", max_length=16)),
                ("vlan", models.CharField(blank=True, max_length=255, verbose_name="VLAN range")),
                ("isolation_methods", models.CharField(blank=True, max_length=255, verbose_name="isolation methods")),
                ("broadcast_domain_range", models.CharField(default="ZONE", max_length=16)),
                ("tags", models.CharField(blank=True, max_length=1024, verbose_name="tags")),
                ("network_speed", models.CharField(blank=True, max_length=32, verbose_name="network speed")),
                ("created", models.DateTimeField(auto_now_add=True)),
                ("zone", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT,
                                           related_name="physical_networks", to="infrastructure.zone")),
            ],
            options={"ordering": ["zone__name", "name"]},
        ),
        migrations.AddConstraint(
            model_name="physicalnetwork",
            constraint=models.UniqueConstraint(fields=("zone", "name"), name="unique_physical_network_name_per_zone"),
        ),
        migrations.CreateModel(
            name="TrafficType",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("uuid", models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ("traffic_type", models.CharField(choices=[("Guest", "Guest"), ("Public", "Public"),
                                                           ("Management", "Management"), ("Storage", "Storage")],
                                                  max_length=16)),
                ("kvm_network_label", models.CharField(blank=True, max_length=255, verbose_name="KVM network label")),
                ("created", models.DateTimeField(auto_now_add=True)),
                ("physical_network", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                                       related_name="traffic_types",
                                                       to="infrastructure.physicalnetwork")),
            ],
            options={"ordering": ["physical_network_id", "traffic_type"]},
        ),
        migrations.AddConstraint(
            model_name="traffictype",
            constraint=models.UniqueConstraint(fields=("physical_network", "traffic_type"),
                                               name="unique_traffic_type_per_physical_network"),
        ),
    ]
