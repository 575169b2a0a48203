# The audit trail outlives deleted accounts and domains (see portal.models.Event).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0003_resource_limits'),
        ('portal', '0002_asyncjob_updated'),
    ]

    operations = [
        migrations.AlterField(
            model_name='event',
            name='account',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='accounts.account'),
        ),
        migrations.AlterField(
            model_name='event',
            name='domain',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='accounts.domain'),
        ),
    ]
