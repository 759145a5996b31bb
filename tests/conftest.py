"""Fixtures of the test lab (real servers on loopback); see tests/lab/.

| fixture | scope | yields |
|---|---|---|
| ``lab_certs`` | session | :class:`~tests.lab.certs.LabCertificates` |
| ``smtp_lab`` | function | :class:`~tests.lab.smtpd.SmtpLab`, default options |
| ``smtp_lab_module`` | module | the same, shared (call ``reset()`` between tests) |
| ``make_smtp_lab`` | function | ``make(**SmtpLabOptions fields) -> SmtpLab`` |
| ``dovecot_lab`` | session | :class:`~tests.lab.dovecot.DovecotLab` |
| ``postfix_lab`` | session | :class:`~tests.lab.postfix.PostfixLab` (its ``.dovecot`` too) |
| ``courier_lab`` | session | :class:`~tests.lab.courier.CourierLab` (UTF8=ACCEPT) |

A test that uses one of the server fixtures is marked ``lab``. When a server
is not installed (or Postfix is not run as root), the test is skipped with the
reason, or fails when ``CI=true``; a server that is installed but does not
start always fails, with its log tail (tests/lab/rules.py).
``MAILWIRE_LAB_KEEP=1`` keeps the servers' work directories for a look.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.lab import (
    CourierLab,
    DovecotLab,
    LabCertificates,
    PostfixLab,
    SmtpLab,
    SmtpLabOptions,
    start_lab,
)

_SERVER_FIXTURES = frozenset(
    {"smtp_lab", "smtp_lab_module", "make_smtp_lab", "dovecot_lab", "postfix_lab", "courier_lab"}
)


def _keep() -> bool:
    return os.environ.get("MAILWIRE_LAB_KEEP", "") not in {"", "0"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.lab)


@pytest.fixture(scope="session")
def lab_certs(tmp_path_factory: pytest.TempPathFactory) -> LabCertificates:
    directory = tmp_path_factory.mktemp("lab-certs")
    return start_lab(lambda: LabCertificates(directory))


@pytest.fixture
def smtp_lab(lab_certs: LabCertificates) -> Iterator[SmtpLab]:
    lab = start_lab(SmtpLab(lab_certs).start)
    yield lab
    lab.stop()


@pytest.fixture(scope="module")
def smtp_lab_module(lab_certs: LabCertificates) -> Iterator[SmtpLab]:
    lab = start_lab(SmtpLab(lab_certs).start)
    yield lab
    lab.stop()


@pytest.fixture
def make_smtp_lab(lab_certs: LabCertificates) -> Iterator[Callable[..., SmtpLab]]:
    started: list[SmtpLab] = []

    def make(**options: Any) -> SmtpLab:
        lab = start_lab(SmtpLab(lab_certs, SmtpLabOptions(**options)).start)
        started.append(lab)
        return lab

    yield make
    for lab in started:
        lab.stop()


@pytest.fixture(scope="session")
def dovecot_lab(lab_certs: LabCertificates) -> Iterator[DovecotLab]:
    lab = start_lab(DovecotLab(lab_certs).start)
    yield lab
    lab.stop(remove=not _keep())


@pytest.fixture(scope="session")
def courier_lab() -> Iterator[CourierLab]:
    lab = start_lab(CourierLab().start)
    yield lab
    lab.stop(remove=not _keep())


@pytest.fixture(scope="session")
def postfix_lab(dovecot_lab: DovecotLab) -> Iterator[PostfixLab]:
    lab = start_lab(PostfixLab(dovecot_lab).start)
    yield lab
    lab.stop(remove=not _keep())
