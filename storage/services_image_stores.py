"""Writes about secondary storage (image stores): where a zone keeps templates, ISOs and snapshot backups.

An NFS store is only recorded here (hosts mount it when they need it); a Local store is a directory on this
machine, so its size can be read at once."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from infrastructure.models import Zone
from portal.authz import authorize
from portal.errors import InvalidParameter
from storage.models import ImageStore
from storage.selectors_pools import local_store_size
from storage.services_pools import clean_path, pool_event


def parse_image_store_url(url: str, provider: str) -> tuple[str, str, str, str]:
    """(protocol, server, path, url as stored) of nfs://server/path (NFS) or file:///path (Local)."""
    url = (url or "").strip()
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if provider == ImageStore.Provider.NFS:
        if scheme != "nfs" or not parts.hostname or parts.username or parts.password:
            raise InvalidParameter(_("An NFS image store needs a URL like nfs://server/path, not %(url)s.")
                                   % {"url": url or '""'})
        path = clean_path(parts.path, _("NFS export"))
        return "nfs", parts.hostname, path, f"nfs://{parts.netloc}{path}"
    if provider == ImageStore.Provider.LOCAL:
        if scheme != "file" or parts.netloc:
            raise InvalidParameter(_("A Local image store needs a URL like file:///path, not %(url)s.")
                                   % {"url": url or '""'})
        path = clean_path(parts.path, _("directory"))
        return "file", "", path, f"file://{path}"
    raise InvalidParameter(_("Unsupported image store provider %(provider)s; supported: %(providers)s.")
                           % {"provider": provider, "providers": ", ".join(ImageStore.Provider.values)})


@transaction.atomic
def image_store_add(*, caller: User, zone: Zone, name: str, url: str, provider: str = "NFS") -> ImageStore:
    """CloudStack's addImageStore for NFS and local-directory stores of a zone."""
    authorize(caller, "imagestore.add")
    name = (name or "").strip()
    if not name:
        raise InvalidParameter(_("An image store needs a name."))
    if len(name) > 255:
        raise InvalidParameter(_("The name is too long (at most 255 characters)."))
    provider = {value.lower(): value for value in ImageStore.Provider.values}.get((provider or "").lower(), provider)
    protocol, server, path, clean_url = parse_image_store_url(url, provider)
    if ImageStore.objects.filter(zone=zone, url=clean_url).exists():
        raise InvalidParameter(_("The image store %(url)s is already registered in zone %(zone)s.")
                               % {"url": clean_url, "zone": zone.name})
    if ImageStore.objects.filter(zone=zone, name__iexact=name).exists():
        raise InvalidParameter(_("An image store named %(name)s already exists in zone %(zone)s.")
                               % {"name": name, "zone": zone.name})
    size = local_store_size(path) if provider == ImageStore.Provider.LOCAL else None
    capacity, used = size or (0, 0)
    store = ImageStore.objects.create(name=name, zone=zone, provider=provider, url=clean_url, protocol=protocol,
                                      server=server, path=path, capacity_bytes=capacity, used_bytes=used)
    pool_event(store, "IMAGE.STORE.ADD", _("Added image store %(name)s (%(url)s)") % {"name": name,
                                                                                     "url": clean_url}, user=caller)
    return store


@transaction.atomic
def image_store_delete(*, caller: User, store: ImageStore) -> None:
    """Templates do not record which store holds them yet, so nothing can be stranded: the row goes."""
    authorize(caller, "imagestore.delete", store)
    pool_event(store, "IMAGE.STORE.DELETE", _("Deleted image store %(name)s") % {"name": store.name}, user=caller)
    store.delete()
