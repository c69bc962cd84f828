"""The Kafka connection settings: what they accept, and what they refuse with which message.

No broker here (tests/stack/test_kafka_tls.py uses a real TLS listener); the certificates
are real ones from the dev PKI.
"""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from cryptography.hazmat.primitives import serialization
from faststream.security import BaseSecurity
from pydantic import ValidationError

from ndx_cli.config import kafka_connection
from ndx_population.config import PopulationSettings
from ndx_runtime.kafka_connection import (
    KafkaConnection,
    broker_options,
    connection,
    kafka_options,
)
from ndx_runtime.settings import ServiceSettings

KAFKA_VARIABLES = (
    "KAFKA_BOOTSTRAP_SERVERS",
    "KAFKA_SECURITY_PROTOCOL",
    "KAFKA_SSL_CA_FILE",
    "KAFKA_SSL_CERT_FILE",
    "KAFKA_SSL_KEY_FILE",
)


@pytest.fixture(autouse=True)
def no_kafka_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in KAFKA_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def ssl(pki: Path, **files: Path | None) -> KafkaConnection:
    given: dict[str, Path | None] = {
        "ssl_ca_file": pki / "ca.crt",
        "ssl_cert_file": pki / "population.crt",
        "ssl_key_file": pki / "population.key",
    }
    given.update(files)
    return KafkaConnection(bootstrap_servers="kafka:9093", security_protocol="SSL", **given)


def refusal(error: pytest.ExceptionInfo[ValidationError]) -> str:
    return " ".join(str(e["msg"]) for e in error.value.errors())


def test_plaintext_by_default() -> None:
    conn = ServiceSettings().kafka
    assert (conn.bootstrap_servers, conn.security_protocol) == ("127.0.0.1:9092", "PLAINTEXT")
    assert kafka_options(conn) == {
        "bootstrap_servers": "127.0.0.1:9092",
        "security_protocol": "PLAINTEXT",
        "ssl_context": None,
    }
    assert broker_options(conn) == {"bootstrap_servers": "127.0.0.1:9092", "security": None}


def test_a_bare_bootstrap_string_is_plaintext() -> None:
    assert connection("10.0.0.7:9092") == KafkaConnection(bootstrap_servers="10.0.0.7:9092")
    assert kafka_options("10.0.0.7:9092")["security_protocol"] == "PLAINTEXT"


def test_ssl_with_a_client_certificate(pki: Path) -> None:
    conn = ssl(pki)
    options = kafka_options(conn)
    assert options["security_protocol"] == "SSL"
    context = options["ssl_context"]
    assert context is conn.ssl_context  # one context, shared by every client
    assert context.check_hostname and context.get_ca_certs()
    security = broker_options(conn)["security"]
    assert isinstance(security, BaseSecurity) and security.ssl_context is context
    assert str(conn) == "kafka:9093 (SSL)"


def test_ssl_without_a_client_certificate_is_allowed(pki: Path) -> None:
    # Brokers that authenticate clients otherwise (or not at all) need only the CA.
    conn = ssl(pki, ssl_cert_file=None, ssl_key_file=None)
    assert conn.ssl_context is not None


def test_the_service_settings_read_the_cluster_wide_variables(
    pki: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "b1:9093,b2:9093")
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "ssl")
    monkeypatch.setenv("KAFKA_SSL_CA_FILE", str(pki / "ca.crt"))
    monkeypatch.setenv("KAFKA_SSL_CERT_FILE", str(pki / "population.crt"))
    monkeypatch.setenv("KAFKA_SSL_KEY_FILE", str(pki / "population.key"))
    settings = PopulationSettings()
    assert settings.kafka_bootstrap_servers == "b1:9093,b2:9093"  # as before, for callers
    conn = settings.kafka
    assert (conn.bootstrap_servers, conn.security_protocol) == ("b1:9093,b2:9093", "SSL")
    assert conn.ssl_key_file == pki / "population.key" and conn.ssl_context is not None


def test_ssl_needs_a_ca(pki: Path) -> None:
    with pytest.raises(ValidationError) as error:
        ssl(pki, ssl_ca_file=None)
    assert "KAFKA_SECURITY_PROTOCOL=SSL needs KAFKA_SSL_CA_FILE" in refusal(error)


@pytest.mark.parametrize("missing", ["ssl_cert_file", "ssl_key_file"])
def test_certificate_and_key_go_together(pki: Path, missing: str) -> None:
    with pytest.raises(ValidationError) as error:
        ssl(pki, **{missing: None})
    assert "KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together" in refusal(error)


def test_files_must_exist(pki: Path, tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as error:
        ssl(pki, ssl_key_file=tmp_path / "user.key")
    assert f"KAFKA_SSL_KEY_FILE={tmp_path / 'user.key'}: no such file" in refusal(error)


def test_a_ca_file_that_is_not_pem_is_refused(pki: Path, tmp_path: Path) -> None:
    (tmp_path / "ca.crt").write_text("not a certificate\n")
    with pytest.raises(ValidationError) as error:
        ssl(pki, ssl_ca_file=tmp_path / "ca.crt")
    assert f"KAFKA_SSL_CA_FILE={tmp_path / 'ca.crt'}: not a PEM certificate" in refusal(error)


def test_a_key_of_another_certificate_is_refused(pki: Path) -> None:
    with pytest.raises(ValidationError) as error:
        ssl(pki, ssl_key_file=pki / "land.key")
    assert "not a PEM certificate and its unencrypted key" in refusal(error)


def test_an_encrypted_key_is_refused_without_asking_for_a_passphrase(
    pki: Path, tmp_path: Path
) -> None:
    key = serialization.load_pem_private_key((pki / "population.key").read_bytes(), None)
    locked = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    )
    (tmp_path / "user.key").write_bytes(locked)
    with pytest.raises(ValidationError) as error:
        ssl(pki, ssl_key_file=tmp_path / "user.key")
    assert "KAFKA_SSL_KEY_FILE is encrypted" in refusal(error)


def test_ssl_files_without_ssl_are_refused(pki: Path) -> None:
    # Otherwise certificates meant to protect the connection would be silently unused.
    with pytest.raises(ValidationError) as error:
        KafkaConnection(ssl_ca_file=pki / "ca.crt")
    assert "KAFKA_SSL_CA_FILE set but KAFKA_SECURITY_PROTOCOL is PLAINTEXT" in refusal(error)


def test_unknown_protocols_are_refused() -> None:
    with pytest.raises(ValidationError) as error:
        KafkaConnection(security_protocol="SASL_SSL")  # type: ignore[arg-type]
    assert "KAFKA_SECURITY_PROTOCOL='SASL_SSL': expected PLAINTEXT or SSL" in refusal(error)


def test_service_settings_are_refused_at_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SSL")
    with pytest.raises(ValidationError) as error:
        PopulationSettings()
    assert "needs KAFKA_SSL_CA_FILE" in refusal(error)


def test_the_cli_says_what_is_wrong(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SSL")
    with pytest.raises(click.UsageError) as error:
        kafka_connection()
    assert error.value.message.startswith(
        "Kafka settings: KAFKA_SECURITY_PROTOCOL=SSL needs KAFKA_SSL_CA_FILE"
    )


def test_a_changed_copy_is_checked_again(pki: Path) -> None:
    conn = ssl(pki)
    anonymous = conn.model_copy(update={"ssl_cert_file": None, "ssl_key_file": None})
    assert anonymous.ssl_cert_file is None
    assert anonymous.ssl_context is not None and anonymous.ssl_context is not conn.ssl_context
    with pytest.raises(ValidationError):
        conn.model_copy(update={"ssl_ca_file": None})
