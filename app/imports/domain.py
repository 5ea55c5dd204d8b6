"""CSV imports: API, the wizard, the job and the cleanup of uploaded files."""

from __future__ import annotations

from app.domains import Domain
from app.imports.api import ImportController
from app.imports.service import run_import
from app.imports.views import ImportPagesController

DOMAIN = Domain(
    name="imports",
    controllers=[ImportController, ImportPagesController],
    jobs=[run_import],
    # Uploaded CSVs (names, phones, e-mails) are kept a week for the report, then emptied.
    cleanup={
        "import_files": "UPDATE import_job SET content = ''::bytea WHERE content <> ''::bytea AND created_at < now() - interval '7 days'"
    },
)
