"""API secrets encrypted at rest (accounts.crypto, purpose "api-secret") instead of stored in plain text, and
the login throttle's counters (accounts.security.LoginThrottle)."""

from django.db import migrations, models

PURPOSE = "api-secret"


def encrypt_secrets(apps, schema_editor):
    from accounts.crypto import encrypt

    User = apps.get_model("accounts", "User")
    for user in User.objects.exclude(secret_key="").only("pk", "secret_key"):
        User.objects.filter(pk=user.pk).update(secret_key_encrypted=encrypt(user.secret_key, purpose=PURPOSE))


def decrypt_secrets(apps, schema_editor):
    from accounts.crypto import decrypt

    User = apps.get_model("accounts", "User")
    for user in User.objects.exclude(secret_key_encrypted="").only("pk", "secret_key_encrypted"):
        User.objects.filter(pk=user.pk).update(secret_key=decrypt(user.secret_key_encrypted, purpose=PURPOSE))


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0004_roles'),
    ]

    operations = [
        migrations.AddField(
            model_name='user',
            name='secret_key_encrypted',
            field=models.TextField(blank=True, default=''),
        ),
        migrations.RunPython(encrypt_secrets, decrypt_secrets),
        migrations.RemoveField(
            model_name='user',
            name='secret_key',
        ),
        migrations.CreateModel(
            name='LoginThrottle',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('scope', models.CharField(choices=[('user', 'User name'), ('ip', 'Client address')], max_length=8)),
                ('key_digest', models.CharField(max_length=64)),
                ('failures', models.PositiveIntegerField(default=0)),
                ('window_start', models.DateTimeField(db_index=True)),
                ('locked_until', models.DateTimeField(blank=True, null=True)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('scope', 'key_digest'), name='unique_login_throttle_key')],
            },
        ),
    ]
