"""The journal: who changed what and when in the association, and its CSV export.

Filters travel in the query string (a GET form: bookmarkable, no CSRF needed);
pages go by keyset (``avant`` = the last event shown). Exporting the journal is
itself a data export, so it is audited as ``audit.exported``.
"""

from __future__ import annotations

from flask import Response, render_template, request

from carpool.extensions import db_session
from carpool.security import MAX_ID
from carpool.services import audit_view
from carpool.web.coordinators import bp
from carpool.web.coordinators.common import association_id, coordinator_required, record, today


@bp.get("/journal", endpoint="audit")
@coordinator_required
def audit_page() -> str:
    filters, problems = audit_view.Filters.from_query(request.args)
    before = request.args.get("avant", type=int)
    if before is not None and not 0 < before <= MAX_ID:
        before = None  # no such event: the first page, not a database error
    page = audit_view.page(db_session(), association_id(), filters, before=before)
    db_session().rollback()  # read only: end the transaction (SQLite holds the write lock)
    return render_template(
        "coordinators/audit.html",
        page=page,
        filters=filters,
        problems=problems,
        topics=audit_view.TOPICS,
        actor_kinds=audit_view.ACTOR_KINDS,
        paged=before is not None,
    )


@bp.get("/journal.csv", endpoint="audit_csv")
@coordinator_required
def audit_csv() -> Response:
    filters, _problems = audit_view.Filters.from_query(request.args)
    session = db_session()
    body, rows = audit_view.to_csv(audit_view.entries(session, association_id(), filters))
    record("audit.exported", None, rows=rows, **filters.as_query())
    session.commit()
    return Response(
        "\ufeff" + body,  # the BOM makes spreadsheets read UTF-8
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="journal-{today().isoformat()}.csv"',
            "Cache-Control": "no-store",
        },
    )
