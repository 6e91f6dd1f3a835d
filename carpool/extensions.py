"""Flask extensions and the per-request database session."""

from __future__ import annotations

from flask import current_app, g
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import Session

from carpool.db import Database

csrf = CSRFProtect()


def database() -> Database:
    db: Database = current_app.extensions["carpool.db"]
    return db


def db_session() -> Session:
    """The session of the current request or command; the boundary commits it once."""
    if "db_session" not in g:
        g.db_session = database().sessionmaker()
    session: Session = g.db_session
    return session


def close_db_session(_exc: BaseException | None = None) -> None:
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        session.close()  # rolls back anything the boundary did not commit
