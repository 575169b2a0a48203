"""The per-VM cloud-init NoCloud config drive: an ISO9660 image labelled `cidata` holding `user-data` and
`meta-data`, which cloud-init finds on any attached CD without a metadata server (there is no virtual router
yet to serve CloudStack's metadata over HTTP).

Built in memory with pycdlib (no genisoimage on the hosts) and uploaded by the start job to the host's pool.
"""

from __future__ import annotations

import base64
import io
import json

import pycdlib
from django.utils.translation import gettext as _

from portal.errors import InvalidParameter

# cloud-init's NoCloud datasource looks for a filesystem with this label.
VOLUME_ID = "cidata"
# CloudStack's vm.userdata.max.length (default 32768) bounds the base64 text a client sends, so the text
# cloud-init receives is at most three quarters of it. Every door applies these two through the functions
# below: the APIs send base64 (decode_user_data), the web form and REST send text (check_user_data).
USER_DATA_MAX_ENCODED = 32768
USER_DATA_MAX_BYTES = USER_DATA_MAX_ENCODED * 3 // 4
# What the API parameter may carry at all (CloudStack's limit for POST bodies): the base64 may be wrapped over
# lines, so its length with whitespace is not the bound; decode_user_data applies that.
USER_DATA_PARAM_MAX_LENGTH = 1_048_576


def decode_user_data(encoded: str | None) -> str:
    """CloudStack's `userdata` parameter: base64 of UTF-8 text. Whitespace is ignored (base64 tools wrap their
    lines); anything else that is not base64, or not text, is the caller's mistake (431)."""
    compact = "".join((encoded or "").split())
    if len(compact) > USER_DATA_MAX_ENCODED:
        raise InvalidParameter(_("User data is longer than %(n)d characters after base64 encoding.")
                               % {"n": USER_DATA_MAX_ENCODED})
    try:
        return base64.b64decode(compact, validate=True).decode("utf-8")
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        raise InvalidParameter(_("User data must be base64-encoded UTF-8 text.")) from None


def check_user_data(text: str) -> None:
    """The same bound for user-data given as text: what USER_DATA_MAX_ENCODED base64 characters decode to."""
    if len(text.encode()) > USER_DATA_MAX_BYTES:
        raise InvalidParameter(_("User data is longer than %(max)d bytes (%(n)d characters after base64 "
                                 "encoding).") % {"max": USER_DATA_MAX_BYTES, "n": USER_DATA_MAX_ENCODED})


def _meta_data(*, instance_id: str, hostname: str, public_keys: list[str]) -> str:
    """NoCloud meta-data is YAML; JSON is YAML, and json.dumps quotes whatever the names and keys contain."""
    meta = {"instance-id": instance_id, "local-hostname": hostname}
    if public_keys:
        meta["public-keys"] = [key.strip() for key in public_keys if key.strip()]
    return json.dumps(meta, indent=1) + "\n"


def build_config_drive(*, instance_id: str, hostname: str, user_data: str, public_keys: list[str]) -> bytes:
    """The ISO image's bytes. Rock Ridge and Joliet carry the lower-case, hyphenated names cloud-init reads
    (`user-data`, `meta-data`); the plain ISO9660 names are only the 8.3 fallbacks ISO9660 requires."""
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, joliet=3, rock_ridge="1.09", vol_ident=VOLUME_ID)
    files = (
        ("USERDATA.;1", "user-data", user_data or "#cloud-config\n{}\n"),
        ("METADATA.;1", "meta-data", _meta_data(instance_id=instance_id, hostname=hostname,
                                                public_keys=public_keys)),
    )
    for iso_name, name, text in files:
        data = text.encode()
        iso.add_fp(io.BytesIO(data), len(data), f"/{iso_name}", rr_name=name, joliet_path=f"/{name}")
    out = io.BytesIO()
    iso.write_fp(out)
    iso.close()
    return out.getvalue()


def read_config_drive(data: bytes) -> dict[str, str]:
    """The files of a config drive by their Rock Ridge names: for tests and for support staff checking what
    a VM was given."""
    iso = pycdlib.PyCdlib()
    iso.open_fp(io.BytesIO(data))
    try:
        files: dict[str, str] = {}
        for name in ("user-data", "meta-data"):
            out = io.BytesIO()
            iso.get_file_from_iso_fp(out, rr_path=f"/{name}")
            files[name] = out.getvalue().decode()
        return files
    finally:
        iso.close()
