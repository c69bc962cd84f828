"""The generated documents are current, and generating them refuses what it cannot describe."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from pydantic_settings import BaseSettings, SettingsConfigDict

from ndx_cli.docs.configuration import settings_of
from ndx_cli.docs_cmd import docs

ROOT = Path(__file__).parents[3]


def test_the_committed_documents_are_current() -> None:
    result = CliRunner().invoke(docs, ["--root", str(ROOT), "--check"])
    assert result.exit_code == 0, result.output


def test_a_stale_document_is_named(tmp_path: Path) -> None:
    (tmp_path / "proto").symlink_to(ROOT / "proto")  # message descriptions come from there
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "configuration.md").write_text("old\n")
    result = CliRunner().invoke(docs, ["--root", str(tmp_path), "--check"])
    assert result.exit_code == 1
    assert "out of date: docs/configuration.md, docs/asyncapi/population.yaml" in result.output
    assert not (tmp_path / "docs" / "asyncapi").exists()


class Undocumented(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="X_", use_attribute_docstrings=True)

    documented: int = 1
    """A setting that says what it is."""
    mystery: int = 2


def test_a_setting_without_a_docstring_fails_the_generation() -> None:
    with pytest.raises(LookupError, match=r"Undocumented.mystery has no description"):
        settings_of(Undocumented, ROOT)


def test_variables_are_named_as_pydantic_settings_reads_them() -> None:
    from ndx_land.config import LandSettings

    names = {s.names for s in settings_of(LandSettings, ROOT)}
    assert ("LAND_CONSUMER_GROUP",) in names
    # The cluster-wide variable is read without the prefix.
    assert ("KAFKA_BOOTSTRAP_SERVERS",) in names
    assert ("LAND_KAFKA_BOOTSTRAP_SERVERS",) not in names


def test_the_asyncapi_documents_name_topics_and_groups_as_the_services_do() -> None:
    from ndx_land.config import LandSettings
    from ndx_population.config import PARTITIONS
    from ndx_runtime.consumer import dead_letter_topic

    land = LandSettings.model_construct()
    document = yaml.safe_load((ROOT / "docs/asyncapi/land.yaml").read_text())
    assert document["asyncapi"] == "3.0.0"
    channels = {c["address"]: c for c in document["channels"].values()}
    assert set(channels) == {
        land.citizen_topic,
        dead_letter_topic(land.citizen_topic),
        land.parcel_topic,
    }
    assert channels[land.citizen_topic]["bindings"]["kafka"]["partitions"] == PARTITIONS
    assert channels[land.parcel_topic]["bindings"]["kafka"]["partitions"] == land.topic_partitions
    actions = {
        (o["action"], o["channel"]["$ref"].rsplit("/", 1)[-1]): o
        for o in document["operations"].values()
    }
    receive = actions["receive", f"{land.citizen_topic}:{land.consumer_group}"]
    assert receive["bindings"]["kafka"]["groupId"]["enum"] == [land.consumer_group]
    [message] = [
        m for n, m in document["components"]["messages"].items() if n.startswith(land.parcel_topic)
    ]
    assert message["name"] == "ndx.land.v1.ParcelChanged"
    assert message["contentType"] == "application/protobuf"
    assert "traceparent" in message["headers"]["properties"]
