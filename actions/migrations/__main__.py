"""The action ledger's schema: `python -m actions.migrations [upgrade|check|revision -m MESSAGE]`.

    upgrade    bring the ledger database to the head revision (the default; what `make migrate` runs)
    check      exit 1 unless the database is at the head revision
    revision   write a new revision from the models' difference to the head (autogenerate on a
               scratch SQLite database); read it and finish it by hand (docs/migrations.md)

The database is ACTION_LEDGER_URL (default sqlite:///.data/ledger.db), or --url.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import List, Optional

from sqlalchemy.engine import make_url

from actions import ledger


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m actions.migrations", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", choices=["upgrade", "check", "revision"], default="upgrade")
    parser.add_argument("--url", help="the ledger database (default: ACTION_LEDGER_URL)")
    parser.add_argument("-m", "--message", help="what a new revision does (revision)")
    args = parser.parse_args(argv)
    if args.command == "revision":
        return new_revision(args.message, parser)
    from actions.config import get_settings

    url = args.url or get_settings().ledger_url
    shown = repr(make_url(url))  # password masked
    if args.command == "check":
        engine = ledger.migration_engine(url)
        try:
            with engine.connect() as connection:
                current = ledger.schema_revision(connection)
        finally:
            engine.dispose()
        if current != ledger.head_revision():
            print(f"action ledger {shown}: at {current or 'no revision'}, not {ledger.head_revision()}: "
                  "run `make migrate`", file=sys.stderr)
            return 1
        print(f"action ledger {shown}: at {current} (head)")
        return 0
    try:
        applied = ledger.migrate(url)
    except ledger.LedgerSchemaError as error:
        print(f"action ledger: {error}", file=sys.stderr)
        return 1
    done = f"applied {', '.join(applied)}" if applied else "nothing to apply"
    print(f"action ledger {shown}: {done}; at {ledger.head_revision()} (head)")
    return 0


def new_revision(message: Optional[str], parser: argparse.ArgumentParser) -> int:
    from alembic import command

    if not message:
        parser.error("revision needs -m MESSAGE")
    number = len(ledger.known_revisions()) + 1
    slug = "_".join(message.lower().split())[:27]
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{Path(scratch) / 'ledger.db'}"
        ledger.migrate(url)
        engine = ledger.migration_engine(url)
        try:
            with engine.connect() as connection:
                config = ledger.alembic_config(connection=connection)
                command.revision(config, message=message, autogenerate=True, rev_id=f"{number:04d}_{slug}")
        finally:
            engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
