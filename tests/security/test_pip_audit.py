"""No installed package with a known vulnerability (pip-audit, PyPI's advisory data).

Skipped only when the advisory service cannot be reached or answers for no package at all
(an offline or filtering mirror): a skip says nothing was checked, a failure names the package.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PIP_AUDIT = Path(sys.executable).with_name("pip-audit")


def audit(service: str) -> tuple[dict, str]:
    """The JSON report of pip-audit on this environment (our own editable package left out)."""
    command = [str(PIP_AUDIT), "--vulnerability-service", service, "--local", "--skip-editable"]
    command += ["--progress-spinner", "off", "--format", "json", "--timeout", "20"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)
    try:
        return json.loads(done.stdout or "{}"), done.stderr
    except json.JSONDecodeError:
        return {}, done.stderr or done.stdout


def test_no_installed_package_has_a_known_vulnerability():
    if not PIP_AUDIT.exists():
        pytest.skip("pip-audit n'est pas installé (pip install -e '.[test]')")
    report, errors = audit("pypi")
    dependencies = report.get("dependencies", [])
    audited = [dep for dep in dependencies if "skip_reason" not in dep]
    if not audited:
        why = [dep["skip_reason"] for dep in dependencies[:1]] or errors.strip().splitlines()[-1:]
        pytest.skip(f"PyPI advisory data unreachable, nothing audited ({len(dependencies)} packages): {why}")

    vulnerable = [
        f"{dep['name']} {dep['version']}: {vuln['id']} (fixed in {', '.join(vuln['fix_versions']) or '?'})"
        for dep in audited
        for vuln in dep.get("vulns", [])
    ]
    unaudited = [dep["name"] for dep in dependencies if "skip_reason" in dep]
    assert vulnerable == []
    assert unaudited == [], "not found on PyPI, so not audited"
