"""Every audit test gets a checkpoint folder of its own: the sealer writes a checkpoint on every
run that seals something, and a folder shared between tests (or test runs) would hold another
test database's chain heads."""

import pytest


@pytest.fixture(autouse=True)
def _own_checkpoint_store(settings, tmp_path_factory):
    settings.PORTAL_AUDIT_CHECKPOINT_DIR = str(tmp_path_factory.mktemp("audit-checkpoints"))
    settings.PORTAL_AUDIT_CHECKPOINT_DATABASE_URL = ""
