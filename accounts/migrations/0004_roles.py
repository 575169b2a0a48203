"""Roles (accounts.roles): the Role and RolePermission tables, the four built-in roles, and every existing
account given the built-in role of its type before Account.role becomes required."""

import uuid

import django.db.models.deletion
from django.db import migrations, models

# accounts.roles.DEFAULT_ROLE_OF_ACCOUNT, by account type (0 user, 1 root admin, 2 domain admin).
DEFAULT_ROLE_OF_ACCOUNT = {
    0: uuid.UUID("00000000-0000-4000-8000-000000000003"),
    1: uuid.UUID("00000000-0000-4000-8000-000000000001"),
    2: uuid.UUID("00000000-0000-4000-8000-000000000002"),
}


def seed_roles(apps, schema_editor):
    from accounts.roles import install_builtin_roles

    Role = apps.get_model("accounts", "Role")
    install_builtin_roles(Role, apps.get_model("accounts", "RolePermission"))
    Account = apps.get_model("accounts", "Account")
    for account_type, role_uuid in DEFAULT_ROLE_OF_ACCOUNT.items():
        Account.objects.filter(account_type=account_type, role__isnull=True).update(
            role=Role.objects.get(uuid=role_uuid))


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0003_resource_limits'),
    ]

    operations = [
        migrations.CreateModel(
            name='Role',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('uuid', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ('name', models.CharField(max_length=255, unique=True, verbose_name='name')),
                ('role_type', models.CharField(choices=[('Admin', 'Admin'), ('DomainAdmin', 'Domain admin'), ('User', 'User')], max_length=16, verbose_name='role type')),
                ('description', models.TextField(blank=True, verbose_name='description')),
                ('is_default', models.BooleanField(default=False, editable=False, verbose_name='built-in')),
                ('created', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'ordering': ['-is_default', 'name'],
            },
        ),
        migrations.CreateModel(
            name='RolePermission',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('uuid', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ('rule', models.CharField(max_length=255, verbose_name='rule')),
                ('permission', models.CharField(choices=[('allow', 'Allow'), ('deny', 'Deny')], max_length=8, verbose_name='permission')),
                ('sort_order', models.PositiveIntegerField(default=0)),
                ('description', models.TextField(blank=True, verbose_name='description')),
                ('role', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='permissions', to='accounts.role')),
            ],
            options={
                'ordering': ['role_id', 'sort_order', 'pk'],
            },
        ),
        migrations.AddField(
            model_name='account',
            name='role',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='accounts', to='accounts.role', verbose_name='role'),
        ),
        migrations.RunPython(seed_roles, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='account',
            name='role',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='accounts', to='accounts.role', verbose_name='role'),
        ),
    ]
