"""plink verify's probe task (`src/ops/verify/task.py`, issue #15), run for real against servers on
127.0.0.1: the emulator computes what the task would print, so this is where the task itself is
proven — name resolution, TCP, TLS with SNI and certificate checks, and the unsigned
ListObjectsV2 whose 200 or 403 both prove the path.

S3 destinations always use port 443 on the bucket's name; the tests send that connection to a
local TLS server (resolution and `create_connection` are redirected) whose certificate is trusted
through SSL_CERT_FILE, as a real S3 certificate is through the system's store.
"""
from __future__ import annotations

import importlib.util
import json
import socket
import ssl
import subprocess
import threading
from pathlib import Path

import pytest

TASK = Path(__file__).resolve().parents[2] / "src" / "ops" / "verify" / "task.py"
BUCKET_HOST = "data.s3.us-east-1.amazonaws.com"


def load_task():
    spec = importlib.util.spec_from_file_location("plink_verify_task", TASK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def task():
    return load_task()


def serve(listener: socket.socket, handle) -> threading.Thread:
    def loop():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                handle(conn)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


def listening() -> socket.socket:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    return listener


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=" + BUCKET_HOST, "-addext", "subjectAltName=DNS:" + BUCKET_HOST,
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


def s3_server(certificate, status: str, body: str) -> socket.socket:
    """A TLS server answering every request as S3 would, with `status` and `body`."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    listener = listening()

    def handle(conn):
        try:
            with context.wrap_socket(conn, server_side=True) as tls:
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = tls.recv(4096)
                    if not chunk:
                        return
                    request += chunk
                assert request.startswith(b"GET /?list-type=2&max-keys=1 HTTP/1.1\r\n"), request
                assert b"Host: " + BUCKET_HOST.encode() in request, request
                assert b"Authorization" not in request, "the task sends no credentials"
                data = body.encode()
                tls.sendall(
                    ("HTTP/1.1 " + status + "\r\nContent-Type: application/xml\r\n"
                     "Content-Length: " + str(len(data)) + "\r\n\r\n").encode() + data
                )
        except (ssl.SSLError, OSError):
            return

    serve(listener, handle)
    return listener


@pytest.fixture
def to_local(task, monkeypatch, certificate):
    """Sends the task's connections to port 443 to `port` on 127.0.0.1, and trusts the test
    certificate."""
    target = {}
    real = socket.create_connection

    def create_connection(address, timeout=None, *args, **kwargs):
        host, port = address
        return real((host, target.get(port, port)), timeout, *args, **kwargs)

    monkeypatch.setattr(task.socket, "create_connection", create_connection)
    monkeypatch.setattr(task, "resolve", lambda host, port: ["127.0.0.1"])
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    return target


S3_LIST = ("<?xml version=\"1.0\"?><ListBucketResult><Name>data</Name><KeyCount>1</KeyCount>"
           "</ListBucketResult>")
S3_DENIED = "<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code></Error>"
S3_REDIRECT = "<?xml version=\"1.0\"?><Error><Code>PermanentRedirect</Code></Error>"


@pytest.mark.parametrize(
    "status, body, ok, error, code",
    [
        ("200 OK", S3_LIST, True, None, None),
        # An unsigned request to a bucket that does not allow anonymous listing: S3 answered, so
        # the network path works.
        ("403 Forbidden", S3_DENIED, True, None, "AccessDenied"),
        ("301 Moved Permanently", S3_REDIRECT, False, "s3_error", "PermanentRedirect"),
    ],
)
def test_s3_list_objects_through_tls_with_sni(task, to_local, certificate, status, body, ok,
                                              error, code):
    server = s3_server(certificate, status, body)
    to_local[443] = server.getsockname()[1]
    line = task.probe(0, {"kind": "s3", "bucket": "data", "region": "us-east-1"})
    server.close()
    assert line["plink_verify"] == 1 and line["name"] == "s3://data"
    assert line["host"] == BUCKET_HOST and line["port"] == 443
    assert line["addresses"] == ["127.0.0.1"] and line["private"] is True
    assert line["tls"]["ok"] is True and line["tls"]["sni"] == BUCKET_HOST
    assert line["list_objects_v2"]["http_status"] == int(status.split()[0])
    assert line["list_objects_v2"]["error_code"] == code
    assert (line["ok"], line["error"]) == (ok, error), line
    if ok and status.startswith("200"):
        assert line["list_objects_v2"]["key_count"] == 1


def test_a_certificate_for_another_name_is_a_tls_failure(task, to_local, certificate):
    server = s3_server(certificate, "200 OK", S3_LIST)
    to_local[443] = server.getsockname()[1]
    line = task.probe(0, {"kind": "tcp", "host": "other.example.com", "port": 443, "tls": True})
    server.close()
    assert (line["ok"], line["error"]) == (False, "tls_failure"), line
    assert line["tls"]["ok"] is False and line["tls"]["sni"] == "other.example.com"


def closed_port() -> int:
    """A port nothing listens on: bound, never listened on, released. (Closing a listener whose
    accept() another thread is blocked in does not stop it accepting on Linux: regression of a
    flaky first version of this test.)"""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_tcp_connects_or_names_the_refusal(task):
    listener = listening()
    serve(listener, lambda conn: None)
    port = listener.getsockname()[1]
    line = task.probe(3, {"kind": "tcp", "host": "127.0.0.1", "port": port, "name": "db"})
    assert (line["ok"], line["index"], line["name"]) == (True, 3, "db"), line
    assert line["connect_ms"] is not None and line["tls"] is None
    line = task.probe(0, {"kind": "tcp", "host": "127.0.0.1", "port": closed_port()})
    assert (line["ok"], line["error"]) == (False, "connection_refused"), line


def test_a_name_that_does_not_resolve_is_a_dns_failure(task):
    line = task.probe(0, {"kind": "tcp", "host": "plink-verify.invalid", "port": 443})
    assert (line["ok"], line["error"], line["addresses"]) == (False, "dns_failure", []), line


def test_the_command_line_prints_one_json_line_per_destination():
    listener = listening()
    serve(listener, lambda conn: None)
    destinations = [
        {"kind": "tcp", "host": "127.0.0.1", "port": listener.getsockname()[1]},
        {"kind": "tcp", "host": "plink-verify.invalid", "port": 5432},
    ]
    out = subprocess.run(
        ["python3", str(TASK), json.dumps(destinations)],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout
    listener.close()
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(l["index"], l["ok"]) for l in lines] == [(0, True), (1, False)]
    assert all(line.startswith('{"plink_verify": 1') for line in out.splitlines())


def test_a_parameter_that_is_not_a_list_of_destinations_fails_the_run():
    for bad in ["{}", "[]", "not json"]:
        run = subprocess.run(["python3", str(TASK), bad], capture_output=True, text=True,
                             timeout=60)
        assert run.returncode != 0 and run.stdout == "", (bad, run)
