"""Tests of data migrations find them by name without their number, which changes when branches
are merged, and may run the real migrations backwards and forwards."""

import importlib
from pathlib import Path
from types import ModuleType

from django.db import connection
from django.db.migrations.executor import MigrationExecutor

import lab_portal.migrations

FOLDER = Path(lab_portal.migrations.__file__).parent


def name(suffix: str) -> str:
    """The full name of lab_portal's migration called `suffix`, such as "0004_team_leads"."""
    [path] = FOLDER.glob(f"[0-9][0-9][0-9][0-9]_{suffix}.py")
    return path.stem


def module(suffix: str) -> ModuleType:
    return importlib.import_module(f"lab_portal.migrations.{name(suffix)}")


def migrate(suffix: str):
    """Bring lab_portal's tables to the state after migration `suffix` (backwards or forwards);
    returns that state's models."""
    target = [("lab_portal", name(suffix))]
    executor = MigrationExecutor(connection)
    executor.migrate(target)
    return executor.loader.project_state(target).apps


def migrate_to_latest() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
