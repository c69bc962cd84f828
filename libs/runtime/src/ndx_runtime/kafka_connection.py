"""How every Kafka client reaches the cluster: bootstrap servers and, over SSL, PEM files.

The cluster is the same for every service, so its variables carry no service prefix:
KAFKA_BOOTSTRAP_SERVERS, KAFKA_SECURITY_PROTOCOL (PLAINTEXT or SSL), KAFKA_SSL_CA_FILE,
KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE. Against Strimzi with `authentication: tls` the CA
is the *cluster* CA (secret `<cluster>-cluster-ca-cert`, key `ca.crt`) and the certificate and
key are the KafkaUser secret's `user.crt` and `user.key` (that secret's own `ca.crt` is the
clients CA, which only the brokers need).
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Self, get_args

from aiokafka.helpers import create_ssl_context
from faststream.security import BaseSecurity
from pydantic import BaseModel, ConfigDict, PrivateAttr, field_validator, model_validator

DEFAULT_BOOTSTRAP = "127.0.0.1:9092"
SecurityProtocol = Literal["PLAINTEXT", "SSL"]


class KafkaConnection(BaseModel):
    """One Kafka cluster and how to talk to it; every NDX Kafka client is built from one.

    Checked when made: SSL needs a CA, a client certificate comes with its key, the files
    exist and hold PEM that loads. The SSL context is built once and shared by the clients.
    """

    model_config = ConfigDict(frozen=True)

    bootstrap_servers: str = DEFAULT_BOOTSTRAP
    security_protocol: SecurityProtocol = "PLAINTEXT"
    ssl_ca_file: Path | None = None
    ssl_cert_file: Path | None = None
    ssl_key_file: Path | None = None
    _ssl_context: ssl.SSLContext | None = PrivateAttr(default=None)

    @field_validator("security_protocol", mode="before")
    @classmethod
    def _known_protocol(cls, value: object) -> object:
        protocol = value.strip().upper() if isinstance(value, str) else value
        if protocol not in get_args(SecurityProtocol):
            raise ValueError(f"KAFKA_SECURITY_PROTOCOL={value!r}: expected PLAINTEXT or SSL")
        return protocol

    @model_validator(mode="after")
    def _usable(self) -> Self:
        if not self.bootstrap_servers.strip():
            raise ValueError("KAFKA_BOOTSTRAP_SERVERS is empty; expected host:port[,host:port]")
        self._ssl_context = _ssl_context(self) if self.security_protocol == "SSL" else None
        given = [name for name, path in _files(self) if path is not None]
        if given and self._ssl_context is None:
            raise ValueError(
                f"{', '.join(given)} set but KAFKA_SECURITY_PROTOCOL is PLAINTEXT: set "
                "KAFKA_SECURITY_PROTOCOL=SSL to use them, or unset them"
            )
        return self

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy with `update` applied, checked again and with its own SSL context."""
        return self.model_validate(self.model_dump() | dict(update or {}))

    @property
    def ssl_context(self) -> ssl.SSLContext | None:
        """The client SSL context (CA, client certificate), or None for PLAINTEXT."""
        return self._ssl_context

    def __str__(self) -> str:
        return f"{self.bootstrap_servers} ({self.security_protocol})"


# A bare bootstrap string is a PLAINTEXT cluster (tests, tools); services pass settings.kafka.
KafkaTarget = KafkaConnection | str


def connection(kafka: KafkaTarget) -> KafkaConnection:
    """`kafka` as a KafkaConnection."""
    return kafka if isinstance(kafka, KafkaConnection) else KafkaConnection(bootstrap_servers=kafka)


def kafka_options(kafka: KafkaTarget) -> dict[str, Any]:
    """Connection arguments of AIOKafkaProducer, AIOKafkaConsumer and AIOKafkaAdminClient."""
    conn = connection(kafka)
    return {
        "bootstrap_servers": conn.bootstrap_servers,
        "security_protocol": conn.security_protocol,
        "ssl_context": conn.ssl_context,
    }


def broker_options(kafka: KafkaTarget) -> dict[str, Any]:
    """Connection arguments of a FastStream KafkaBroker, which takes SSL as `security`."""
    conn = connection(kafka)
    security = BaseSecurity(ssl_context=conn.ssl_context) if conn.ssl_context else None
    return {"bootstrap_servers": conn.bootstrap_servers, "security": security}


def _files(conn: KafkaConnection) -> list[tuple[str, Path | None]]:
    return [
        ("KAFKA_SSL_CA_FILE", conn.ssl_ca_file),
        ("KAFKA_SSL_CERT_FILE", conn.ssl_cert_file),
        ("KAFKA_SSL_KEY_FILE", conn.ssl_key_file),
    ]


def _ssl_context(conn: KafkaConnection) -> ssl.SSLContext:
    if conn.ssl_ca_file is None:
        raise ValueError(
            "KAFKA_SECURITY_PROTOCOL=SSL needs KAFKA_SSL_CA_FILE: the PEM certificate of the CA "
            "that signed the brokers' certificates (Strimzi: <cluster>-cluster-ca-cert ca.crt)"
        )
    if (conn.ssl_cert_file is None) != (conn.ssl_key_file is None):
        raise ValueError(
            "KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together: a client certificate is "
            "presented with its private key (Strimzi: the KafkaUser's user.crt and user.key)"
        )
    for name, path in _files(conn):
        if path is not None and not path.is_file():
            raise ValueError(f"{name}={path}: no such file")
    try:
        context: ssl.SSLContext = create_ssl_context(cafile=conn.ssl_ca_file)
    except (ssl.SSLError, OSError) as e:
        raise ValueError(
            f"KAFKA_SSL_CA_FILE={conn.ssl_ca_file}: not a PEM certificate ({e})"
        ) from None
    if conn.ssl_cert_file is not None and conn.ssl_key_file is not None:
        try:
            context.load_cert_chain(conn.ssl_cert_file, conn.ssl_key_file, password=_no_password)
        except (ssl.SSLError, OSError) as e:
            raise ValueError(
                f"KAFKA_SSL_CERT_FILE={conn.ssl_cert_file} and KAFKA_SSL_KEY_FILE="
                f"{conn.ssl_key_file}: not a PEM certificate and its unencrypted key ({e})"
            ) from None
    return context


def _no_password() -> str:
    # Without a callback OpenSSL would ask for a passphrase on the terminal and block.
    raise ValueError("KAFKA_SSL_KEY_FILE is encrypted; an unencrypted PEM key is expected")
