"""factory_boy factories: every test builds exactly the rows it needs."""

from __future__ import annotations

import factory

from accounts.models import Account, Domain, User
from accounts.roles import Role, RolePermission, RoleType
from compute.models import ServiceOffering
from infrastructure.models import Cluster, Host, Pod, Zone
from storage.models import Template

TEST_PASSWORD = "correct horse battery staple"


class DomainFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Domain
        django_get_or_create = ("parent", "name")

    name = "ROOT"
    parent = None


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"account{n}")
    domain = factory.SubFactory(DomainFactory)
    account_type = Account.Type.USER


class RoleFactory(factory.django.DjangoModelFactory):
    """A custom role; give it rules with `rules=[("vm.deploy", "deny"), ("*", "allow")]` (in order)."""

    class Meta:
        model = Role
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"role{n}")
    role_type = RoleType.USER

    @factory.post_generation
    def rules(obj, create, extracted, **kwargs):
        for order, (rule, permission) in enumerate(extracted or ()):
            RolePermission.objects.create(role=obj, rule=rule, permission=permission, sort_order=order)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    account = factory.SubFactory(AccountFactory)
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    is_superuser = factory.LazyAttribute(lambda u: u.account.account_type == Account.Type.ROOT_ADMIN)
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class ZoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Zone

    name = factory.Sequence(lambda n: f"zone{n}")


class PodFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Pod

    zone = factory.SubFactory(ZoneFactory)
    name = factory.Sequence(lambda n: f"pod{n}")


class ClusterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cluster

    pod = factory.SubFactory(PodFactory)
    zone = factory.SelfAttribute("pod.zone")
    name = factory.Sequence(lambda n: f"cluster{n}")


class HostFactory(factory.django.DjangoModelFactory):
    """An Up simulator host on libvirt's test driver with 8 cores x 2000 MHz and 8 GiB."""

    class Meta:
        model = Host

    name = factory.Sequence(lambda n: f"host{n}")
    cluster = factory.SubFactory(ClusterFactory)
    pod = factory.SelfAttribute("cluster.pod")
    zone = factory.SelfAttribute("cluster.zone")
    url = "test:///default"
    domain_type = Host.DomainType.TEST
    status = Host.Status.UP
    cpu_cores = 8
    cpu_speed = 2000
    memory_total = 8 * 2**30
    storage_path = "/cirrostack/test/primary"


class ServiceOfferingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceOffering
        skip_postgeneration_save = True  # the domains hook only sets a many-to-many relation

    name = factory.Sequence(lambda n: f"offering{n}")
    cpu_number = 1
    cpu_speed = 1000
    memory = 512

    @factory.post_generation
    def domains(self, create: bool, extracted: list | None, **kwargs: object) -> None:
        if create and extracted:
            self.domains.set(extracted)


class TemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Template

    name = factory.Sequence(lambda n: f"template{n}")
    url = "simulator://tiny"
    size = 64 * 2**20
    is_public = True
    account = factory.SubFactory(AccountFactory, account_type=Account.Type.ROOT_ADMIN)
    domain = factory.SelfAttribute("account.domain")


class StoragePoolFactory(factory.django.DjangoModelFactory):
    """An Up, cluster-scoped directory pool (100 GiB as libvirt's test driver reports) in a new cluster."""

    class Meta:
        model = "storage.StoragePool"

    name = factory.Sequence(lambda n: f"pool{n}")
    cluster = factory.SubFactory(ClusterFactory)
    pod = factory.SelfAttribute("cluster.pod")
    zone = factory.SelfAttribute("cluster.zone")
    scope = "CLUSTER"
    pool_type = "Filesystem"
    path = factory.Sequence(lambda n: f"/cirrostack/test/pool{n}")
    url = factory.LazyAttribute(lambda pool: f"filesystem://{pool.path}")
    capacity_bytes = 100 * 2**30


class ImageStoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "storage.ImageStore"

    name = factory.Sequence(lambda n: f"store{n}")
    zone = factory.SubFactory(ZoneFactory)
    provider = "NFS"
    protocol = "nfs"
    server = "nfs.example.test"
    path = factory.Sequence(lambda n: f"/export/secondary{n}")
    url = factory.LazyAttribute(lambda store: f"nfs://{store.server}{store.path}")
