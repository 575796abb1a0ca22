"""Alembic environment: the URL comes from FARM_ settings (or the caller's config), never from alembic.ini."""

from alembic import context

from contracts.settings import get_settings
from server.all_models import Base
from server.db import make_engine

config = context.config
url = config.get_main_option("sqlalchemy.url") or get_settings().sqlalchemy_url


def run_migrations_offline() -> None:
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(url)
    with engine.connect() as connection:
        if url.startswith("sqlite"):
            # batch mode copies a table and drops the old one; with foreign keys on, dropping a table
            # that other rows refer to (models, jobs) fails. Off for the migration (before any
            # transaction: SQLite ignores the pragma inside one), checked after it.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()  # alembic commits only a transaction it began itself
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=url.startswith("sqlite"),
        )
        with context.begin_transaction():
            context.run_migrations()
        if url.startswith("sqlite"):
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"foreign keys broken by the migration: {broken[:5]}")
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
