"""webhooks.transport over TLS: connect to the vetted address, but speak to the URL's host
(SNI, the certificate's name, the Host header). A test CA signs a certificate for
``hooks.test``; the fake DNS sends that name to 127.0.0.1."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.webhook_receiver import WebhookReceiver
from webhooks import transport
from webhooks.targets import target_resolve


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict[str, Path]:
    """A CA, and certificates it signs for hooks.test and for other.test."""
    directory = tmp_path_factory.mktemp("pki")
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("Test CA")).issuer_name(_name("Test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    paths = {"ca": directory / "ca.pem"}
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    for host in ("hooks.test", "other.test"):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder().subject_name(_name(host)).issuer_name(ca.subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
                .add_extension(x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .sign(ca_key, hashes.SHA256()))
        pem = directory / f"{host}.pem"
        pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        paths[host] = pem
    return paths


def _tls_receiver(pem: Path, sni: list[str | None]) -> WebhookReceiver:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pem)
    context.sni_callback = lambda sock, name, ctx: sni.append(name)  # type: ignore[assignment,misc,func-returns-value]
    return WebhookReceiver(tls=context)


@pytest.fixture
def trust_test_ca(monkeypatch, pki):
    monkeypatch.setattr(transport.certifi, "where", lambda: str(pki["ca"]))


def _post(url: str) -> transport.Answer:
    target = target_resolve(url)
    return transport.post(target, body=b'{"type":"job.completed"}', headers={"Content-Type": "application/json"},
                          timeout=5)


def test_tls_to_the_vetted_address_with_the_urls_host_name(private_targets, fake_dns, network_guard, pki, trust_test_ca):
    sni: list[str | None] = []
    with _tls_receiver(pki["hooks.test"], sni) as receiver:
        fake_dns.add("hooks.test", "127.0.0.1")
        answer = _post(f"https://hooks.test:{receiver.port}/cb")
        assert (answer.status_code, answer.error) == (204, "")
        (request,) = receiver.received
        assert request.header("host") == f"hooks.test:{receiver.port}"
        assert sni == ["hooks.test"]
        assert network_guard.connects == [("127.0.0.1", receiver.port)]
        # The name is looked up once, by the check: the connection went to the vetted address.
        assert [name for name in fake_dns.lookups if not _is_ip(name)] == ["hooks.test"]


def test_a_certificate_for_another_name_is_refused(private_targets, fake_dns, pki, trust_test_ca):
    sni: list[str | None] = []
    with _tls_receiver(pki["other.test"], sni) as receiver:
        fake_dns.add("hooks.test", "127.0.0.1")
        answer = _post(f"https://hooks.test:{receiver.port}/cb")
        assert answer.status_code is None and answer.error.startswith("TLS error")
        assert receiver.received == []


def test_a_certificate_from_an_unknown_authority_is_refused(private_targets, fake_dns, pki):
    sni: list[str | None] = []
    with _tls_receiver(pki["hooks.test"], sni) as receiver:
        fake_dns.add("hooks.test", "127.0.0.1")
        answer = _post(f"https://hooks.test:{receiver.port}/cb")
        assert answer.status_code is None and answer.error.startswith("TLS error")
        assert "certificate verify failed" in answer.error
        assert receiver.received == []


def test_the_ip_of_an_ipv4_literal_url_is_its_own_name():
    target = target_resolve("https://93.184.216.34/cb")
    assert (target.host, target.addresses, target.host_header) == ("93.184.216.34", ("93.184.216.34",), "93.184.216.34")
    assert ipaddress.ip_address(target.addresses[0]).is_global
