# plink verify: the probe plink runs once on serverless compute in a workspace (issue #15).
#
# Standard library only. The one parameter is a JSON array of destinations (the contract:
# localstack/CONTRACT.md "Verify task"):
#   {"kind": "s3", "bucket": ..., "region": ..., "endpoint"?: ..., "name"?: ..., "timeout_ms"?: ...}
#   {"kind": "tcp", "host": ..., "port": ..., "tls"?: false, "sni"?: host, "name"?: ..., "timeout_ms"?: ...}
# For each one, in order, it resolves the host, opens a TCP connection, does a TLS handshake with
# SNI (always for s3, when asked for tcp) and, for s3, one ListObjectsV2 page; then prints one JSON
# line starting with {"plink_verify": 1, ...}.
#
# ListObjectsV2 is sent without credentials (serverless compute has no instance credentials and
# plink hands the task no secret): S3 answers 200 for a bucket that allows anonymous listing, else
# 403 AccessDenied. Either answer comes from S3 itself, so either proves the network path; the
# line says which (list_objects_v2.http_status). Any other answer (301 another region, 404 no such
# bucket, ...) is an s3_error.
import ipaddress
import json
import socket
import ssl
import sys
import time


def resolve(host, port):
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen = []
    for info in infos:
        address = info[4][0]
        if address not in seen:
            seen.append(address)
    return seen


def is_private(address):
    try:
        return ipaddress.ip_address(address).is_private
    except ValueError:
        return False


def list_objects(conn, host):
    request = (
        "GET /?list-type=2&max-keys=1 HTTP/1.1\r\n"
        "Host: " + host + "\r\n"
        "User-Agent: plink-verify\r\n"
        "Connection: close\r\n\r\n"
    )
    conn.sendall(request.encode("ascii"))
    data = b""
    while len(data) < 65536:
        chunk = conn.recv(8192)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = status_line.split(" ")
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
    text = body.decode("utf-8", "replace")

    def tag(name):
        start = text.find("<" + name + ">")
        end = text.find("</" + name + ">")
        if start < 0 or end < 0:
            return None
        return text[start + len(name) + 2:end]

    count = tag("KeyCount")
    return {
        "ok": status == 200,
        "http_status": status,
        "error_code": tag("Code"),
        "key_count": int(count) if count and count.isdigit() else None,
    }


def probe(index, d):
    kind = d.get("kind")
    timeout = float(d.get("timeout_ms", 5000)) / 1000.0
    if kind == "s3":
        bucket, region = d["bucket"], d["region"]
        endpoint = d.get("endpoint") or ""
        for prefix in ("https://", "*."):
            if endpoint.startswith(prefix):
                endpoint = endpoint[len(prefix):]
        host = bucket + "." + (endpoint or "s3." + region + ".amazonaws.com")
        port, use_tls, sni = 443, True, host
        name = d.get("name") or "s3://" + bucket
    elif kind == "tcp":
        host, port = d["host"], int(d["port"])
        use_tls = bool(d.get("tls", False))
        sni = d.get("sni") or host
        name = d.get("name") or host + ":" + str(port)
    else:
        raise ValueError("destination " + str(index) + ": unknown kind " + repr(kind))
    line = {
        "plink_verify": 1, "index": index, "name": name, "kind": kind, "host": host,
        "port": port, "addresses": [], "private": False, "connect_ms": None, "tls": None,
        "ok": False, "error": None, "message": None,
    }
    if kind == "s3":
        line.update({"bucket": d["bucket"], "region": d["region"], "list_objects_v2": None})
    try:
        addresses = resolve(host, port)
    except socket.gaierror as e:
        line.update(error="dns_failure", message="cannot resolve " + host + ": " + str(e))
        return line
    line["addresses"] = addresses
    line["private"] = bool(addresses) and all(is_private(a) for a in addresses)
    started = time.monotonic()
    try:
        conn = socket.create_connection((addresses[0], port), timeout=timeout)
    except socket.timeout:
        line.update(error="timeout", message="no answer from " + addresses[0] + ":" + str(port)
                    + " within " + str(timeout) + " s")
        return line
    except ConnectionRefusedError:
        line.update(error="connection_refused", message=addresses[0] + ":" + str(port) + " refused")
        return line
    except OSError as e:
        line.update(error="connect_error", message=str(e))
        return line
    line["connect_ms"] = int((time.monotonic() - started) * 1000)
    try:
        if use_tls:
            try:
                conn = ssl.create_default_context().wrap_socket(conn, server_hostname=sni)
                line["tls"] = {"ok": True, "sni": sni, "version": conn.version()}
            except (ssl.SSLError, ssl.CertificateError, OSError) as e:
                line["tls"] = {"ok": False, "sni": sni, "error": str(e)}
                line.update(error="tls_failure", message="TLS with " + sni + ": " + str(e))
                return line
        if kind == "s3":
            try:
                result = list_objects(conn, host)
            except OSError as e:
                line.update(error="timeout" if isinstance(e, socket.timeout) else "s3_error",
                            message="ListObjectsV2: " + str(e))
                return line
            line["list_objects_v2"] = result
            # 403 to an unsigned request: S3 answered, the path works (see the header).
            if result["http_status"] not in (200, 403):
                line.update(error="s3_error", message="ListObjectsV2 answered "
                            + str(result["http_status"]) + " " + str(result["error_code"]))
                return line
        line["ok"] = True
        return line
    finally:
        conn.close()


def main(argv):
    if len(argv) != 2:
        raise ValueError("expected one parameter: a JSON array of destinations")
    destinations = json.loads(argv[1])
    if not isinstance(destinations, list) or not 1 <= len(destinations) <= 100:
        raise ValueError("the parameter must be a JSON array of 1 to 100 destinations")
    for index, d in enumerate(destinations):
        print(json.dumps(probe(index, d)), flush=True)


if __name__ == "__main__":
    main(sys.argv)
