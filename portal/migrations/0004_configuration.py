# Scoped overrides of the declared configuration settings (portal.configuration).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('portal', '0003_events_outlive_accounts'),
    ]

    operations = [
        migrations.CreateModel(
            name='ConfigurationValue',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=255)),
                ('scope', models.CharField(max_length=16)),
                ('scope_id', models.BigIntegerField(default=0)),
                ('value', models.TextField(blank=True)),
                ('updated', models.DateTimeField(auto_now=True)),
            ],
            options={
                'ordering': ['name', 'scope', 'scope_id'],
                'constraints': [models.UniqueConstraint(fields=('name', 'scope', 'scope_id'),
                                                        name='unique_configuration_value_per_scope')],
            },
        ),
    ]
