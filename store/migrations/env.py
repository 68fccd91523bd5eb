"""Alembic's entry point: run the revisions on the connection `undertow` hands over, or, when
`alembic` is run by hand, on the database named by the config's sqlalchemy.url."""

from alembic import context
from sqlalchemy import create_engine

from undertow.store import schema


def run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=schema.metadata,
        # SQLite alters a table by copying it; autogenerate must write revisions that way.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    from undertow.store.records import engine_url

    engine = create_engine(engine_url(context.config.get_main_option("sqlalchemy.url")))
    try:
        with engine.begin() as conn:
            run(conn)
    finally:
        engine.dispose()
