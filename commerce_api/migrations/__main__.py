"""The commerce API's schema: `python -m commerce_api.migrations [upgrade|check|revision -m MESSAGE]`.

    upgrade    bring the database to the head revision (the default; what `make migrate` runs)
    check      exit 1 unless the database is at the head revision
    revision   write a new revision from the models' difference to the head (autogenerate on a scratch
               SQLite database); read it and finish it by hand (docs/migrations.md)

The database is COMMERCE_DATABASE_URL (default sqlite:///.data/commerce.db), or --url.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

from commerce_api import db


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m commerce_api.migrations",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", nargs="?", choices=["upgrade", "check", "revision"], default="upgrade")
    parser.add_argument("--url", help="the commerce database (default: COMMERCE_DATABASE_URL)")
    parser.add_argument("-m", "--message", help="what a new revision does (revision)")
    args = parser.parse_args(argv)
    if args.command == "revision":
        if not args.message:
            parser.error("revision needs -m MESSAGE")
        return new_revision(args.message)
    from commerce_api.settings import Settings

    url = args.url or Settings.from_env().database_url
    shown = repr(make_url(url))  # password masked
    if args.command == "check":
        engine = db.migration_engine(url)
        try:
            with engine.connect() as connection:
                current = db.schema_revision(connection)
        finally:
            engine.dispose()
        if current != db.head_revision():
            print(f"commerce database {shown}: at {current or 'no revision'}, not {db.head_revision()}: "
                  "run `make migrate`", file=sys.stderr)
            return 1
        print(f"commerce database {shown}: at {current} (head)")
        return 0
    try:
        applied = db.migrate(url)
    except db.SchemaError as exc:
        print(f"commerce database: {exc}", file=sys.stderr)
        return 1
    done = f"applied {', '.join(applied)}" if applied else "nothing to apply"
    print(f"commerce database {shown}: {done}; at {db.head_revision()} (head)")
    return 0


def new_revision(message: str) -> int:
    from alembic import command

    number = len(db.known_revisions()) + 1
    slug = "_".join(message.lower().split())[:27]
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{Path(scratch) / 'commerce.db'}"
        db.migrate(url)
        engine = db.migration_engine(url)
        try:
            with engine.connect() as connection:
                command.revision(db.alembic_config(connection=connection), message=message, autogenerate=True,
                                 rev_id=f"{number:04d}_{slug}")
        finally:
            engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
