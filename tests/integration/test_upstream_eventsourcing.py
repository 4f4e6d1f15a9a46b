"""The eventsourcing library's own test cases, run on our SQLite and PostgreSQL configuration.

Every recorder here comes from the library's InfrastructureFactory over Settings.app_env(...),
exactly as our applications get theirs: one SQLite file per application, or PostgreSQL on the
dedicated test database with our pool, lock timeout and compressor. The upstream modules are
imported as modules so that pytest does not collect their unconfigured base classes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from eventsourcing.application import Application
from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    InfrastructureFactory,
    ProcessRecorder,
    TrackingRecorder,
)
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresFactory,
    PostgresTrackingRecorder,
)
from eventsourcing.sqlite import (
    SQLiteAggregateRecorder,
    SQLiteApplicationRecorder,
    SQLiteFactory,
    SQLiteTrackingRecorder,
)
from eventsourcing.tests import application as upstream_app
from eventsourcing.tests import persistence as upstream
from eventsourcing.utils import Environment, get_topic

from adapters.pool import SharedPoolPostgresFactory
from adapters.settings import Settings
from engine.recorders import SectionPostgresProcessRecorder, SectionSQLiteProcessRecorder
from tests.pg import postgres_settings

SCHEMA = "es_upstream"  # not `public`, so a parallel run of the ledger tests is left alone
APP = "Upstream"  # the application name: env prefix, PostgreSQL table prefix, SQLite file name


class Store:
    """Per test: fresh settings for one store, factories built from them, closed afterwards."""

    settings: Settings
    app_name: ClassVar[str] = APP
    export_env: ClassVar[bool] = False  # upstream application cases read os.environ
    _factories: list[InfrastructureFactory[TrackingRecorder]]

    def make_settings(self, tmp_path: Path) -> Settings:
        raise NotImplementedError

    @pytest.fixture(autouse=True)
    def _store(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
        self.settings = self.make_settings(tmp_path)
        self._factories = []
        if self.export_env:
            for key, value in self.app_env(self.settings, self.app_name).items():
                monkeypatch.setenv(key, value)
        threads_before = set(threading.enumerate())
        yield
        # Upstream's test_concurrent_no_conflicts stops its reader threads but never joins
        # them; closing an SQLite connection under a running query crashes the interpreter.
        for thread in set(threading.enumerate()) - threads_before:
            if not thread.daemon:  # pool workers are daemons and end when their pool closes
                thread.join(timeout=10)
        for factory in self._factories:
            factory.close()

    @staticmethod
    def app_env(settings: Settings, app_name: str) -> Environment:
        return Environment(app_name, settings.app_env(app_name))

    def build_factory(self) -> InfrastructureFactory[TrackingRecorder]:
        factory: InfrastructureFactory[TrackingRecorder] = InfrastructureFactory.construct(
            self.app_env(self.settings, self.app_name)
        )
        self._factories.append(factory)
        return factory


class SQLiteStore(Store):
    def make_settings(self, tmp_path: Path) -> Settings:
        return Settings(persistence="sqlite", sqlite_dir=str(tmp_path))


class PostgresStore(Store):
    def make_settings(self, tmp_path: Path) -> Settings:
        return postgres_settings(SCHEMA)


# --- SQLite: one file per application -----------------------------------------------------


class TestSQLiteAggregateRecorder(SQLiteStore, upstream.AggregateRecorderTestCase):
    def create_recorder(self) -> AggregateRecorder:
        return self.build_factory().aggregate_recorder()


class TestSQLiteApplicationRecorder(SQLiteStore, upstream.ApplicationRecorderTestCase):
    def create_recorder(self) -> ApplicationRecorder:
        return self.build_factory().application_recorder()


class TestSQLiteNonInterleavingNotificationIDs(
    SQLiteStore, upstream.NonInterleavingNotificationIDsBaseCase
):
    def create_recorder(self) -> ApplicationRecorder:
        return self.build_factory().application_recorder()


class TestSQLiteTrackingRecorder(SQLiteStore, upstream.TrackingRecorderTestCase):
    def create_recorder(self) -> TrackingRecorder:
        return self.build_factory().tracking_recorder()


class TestSQLiteProcessRecorder(SQLiteStore, upstream.ProcessRecorderTestCase):
    def create_recorder(self) -> ProcessRecorder:
        recorder = self.build_factory().process_recorder()
        assert isinstance(recorder, SectionSQLiteProcessRecorder)  # upstream's cases run on ours
        return recorder


class SQLiteTrackingRecorderSubclass(SQLiteTrackingRecorder):
    """Resolved by topic in the upstream factory test."""


class TestSQLiteFactory(SQLiteStore, upstream.InfrastructureFactoryTestCase[SQLiteFactory]):
    def setUp(self) -> None:
        # Its mapper tests add a compressor and cipher themselves and expect none at first.
        self.env = self.app_env(self.settings.with_changes(compress=False), self.app_name)
        super().setUp()

    def expected_factory_class(self) -> type[SQLiteFactory]:
        return SQLiteFactory

    def expected_aggregate_recorder_class(self) -> type[AggregateRecorder]:
        return SQLiteAggregateRecorder

    def expected_application_recorder_class(self) -> type[ApplicationRecorder]:
        return SQLiteApplicationRecorder

    def expected_tracking_recorder_class(self) -> type[TrackingRecorder]:
        return SQLiteTrackingRecorder

    def tracking_recorder_subclass(self) -> type[TrackingRecorder]:
        return SQLiteTrackingRecorderSubclass

    def expected_process_recorder_class(self) -> type[ProcessRecorder]:
        return SectionSQLiteProcessRecorder  # ours, chosen by PROCESS_RECORDER_TOPIC


class TestSQLiteExampleApplication(SQLiteStore, upstream_app.ExampleApplicationTestCase):
    app_name = "BankAccounts"
    export_env = True
    expected_factory_topic = get_topic(SQLiteFactory)


class TestSQLiteApplication(SQLiteStore, upstream_app.ApplicationTestCase):
    app_name = "Application"
    export_env = True

    def test_uses_our_store(self) -> None:
        with Application[Any]() as app:
            assert isinstance(app.factory, SQLiteFactory)

    @pytest.mark.filterwarnings("always::DeprecationWarning")  # it records and asserts it
    def test_application_log(self) -> None:
        super().test_application_log()


# --- PostgreSQL: the dedicated test database, schema es_upstream ---------------------------


@pytest.mark.postgres
class TestPostgresAggregateRecorder(PostgresStore, upstream.AggregateRecorderTestCase):
    def create_recorder(self) -> AggregateRecorder:
        return self.build_factory().aggregate_recorder()


@pytest.mark.postgres
class TestPostgresApplicationRecorder(PostgresStore, upstream.ApplicationRecorderTestCase):
    def create_recorder(self) -> ApplicationRecorder:
        return self.build_factory().application_recorder()

    def test_insert_subscribe(self) -> None:
        # Upstream leaves this optional because only some recorders can subscribe.
        self.optional_test_insert_subscribe()


@pytest.mark.postgres
class TestPostgresNonInterleavingNotificationIDs(
    PostgresStore, upstream.NonInterleavingNotificationIDsBaseCase
):
    def create_recorder(self) -> ApplicationRecorder:
        return self.build_factory().application_recorder()


@pytest.mark.postgres
class TestPostgresTrackingRecorder(PostgresStore, upstream.TrackingRecorderTestCase):
    def create_recorder(self) -> TrackingRecorder:
        return self.build_factory().tracking_recorder()


@pytest.mark.postgres
class TestPostgresProcessRecorder(PostgresStore, upstream.ProcessRecorderTestCase):
    def create_recorder(self) -> ProcessRecorder:
        recorder = self.build_factory().process_recorder()
        assert isinstance(recorder, SectionPostgresProcessRecorder)  # upstream's cases run on ours
        return recorder


class PostgresTrackingRecorderSubclass(PostgresTrackingRecorder):
    """Resolved by topic in the upstream factory test."""


@pytest.mark.postgres
class TestPostgresFactory(PostgresStore, upstream.InfrastructureFactoryTestCase[PostgresFactory]):
    def setUp(self) -> None:
        # Its mapper tests add a compressor and cipher themselves and expect none at first.
        self.env = self.app_env(self.settings.with_changes(compress=False), self.app_name)
        super().setUp()

    def expected_factory_class(self) -> type[PostgresFactory]:
        return PostgresFactory

    def expected_aggregate_recorder_class(self) -> type[AggregateRecorder]:
        return PostgresAggregateRecorder

    def expected_application_recorder_class(self) -> type[ApplicationRecorder]:
        return PostgresApplicationRecorder

    def expected_tracking_recorder_class(self) -> type[TrackingRecorder]:
        return PostgresTrackingRecorder

    def tracking_recorder_subclass(self) -> type[TrackingRecorder]:
        return PostgresTrackingRecorderSubclass

    def expected_process_recorder_class(self) -> type[ProcessRecorder]:
        return SectionPostgresProcessRecorder  # ours, chosen by PROCESS_RECORDER_TOPIC


@pytest.mark.postgres
class TestPostgresExampleApplication(PostgresStore, upstream_app.ExampleApplicationTestCase):
    app_name = "BankAccounts"
    export_env = True
    # our env's factory: the library's, on one pool per process (adapters/pool.py)
    expected_factory_topic = get_topic(SharedPoolPostgresFactory)


@pytest.mark.postgres
class TestPostgresApplication(PostgresStore, upstream_app.ApplicationTestCase):
    app_name = "Application"
    export_env = True

    def test_uses_our_store(self) -> None:
        with Application[Any]() as app:
            assert isinstance(app.factory, PostgresFactory)

    @pytest.mark.filterwarnings("always::DeprecationWarning")  # it records and asserts it
    def test_application_log(self) -> None:
        super().test_application_log()
