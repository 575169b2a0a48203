"""Architecture rules that code review alone would let slip."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

REPO = Path(settings.BASE_DIR)
PROJECT_PACKAGES = ("portal", "accounts", "infrastructure", "compute", "storage", "networking", "tests")
DRIVER = REPO / "infrastructure" / "hypervisor"


def python_files():
    for package in PROJECT_PACKAGES:
        yield from (REPO / package).rglob("*.py")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def test_only_the_hypervisor_driver_imports_libvirt():
    offenders = [
        str(path.relative_to(REPO))
        for path in python_files()
        if not path.is_relative_to(DRIVER)
        and any(module == "libvirt" or module.startswith("libvirt.") for module in imported_modules(path))
    ]
    assert offenders == []
    assert any("libvirt" in imported_modules(path) for path in DRIVER.rglob("*.py"))


def test_the_driver_does_not_depend_on_django():
    offenders = [str(p.relative_to(REPO)) for p in DRIVER.rglob("*.py")
                 if any(m == "django" or m.startswith("django.") for m in imported_modules(p))]
    assert offenders == []


def test_the_web_process_cannot_open_hypervisor_connections():
    """Load the ASGI application the way the web server does and try to reach the simulator."""
    code = (
        "from portal.asgi import application\n"
        "from infrastructure import hypervisor as hv\n"
        "assert not hv.connections_allowed()\n"
        "try:\n"
        "    hv.get_connection('test:///default')\n"
        "except hv.ConnectionsNotAllowed:\n"
        "    print('refused')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "CIRROSTACK_HYPERVISOR_CONNECTIONS"}
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "refused"
