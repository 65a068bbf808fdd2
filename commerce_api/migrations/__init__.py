"""The commerce API's schema history (Alembic): env.py, versions/, and `python -m commerce_api.migrations`.

Nothing here is imported by the API: `commerce_api.db.migrate` runs Alembic on this folder, and env.py
only ever runs inside Alembic.
"""
