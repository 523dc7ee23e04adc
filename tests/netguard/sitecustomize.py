"""Loaded by every Python process started with this folder on PYTHONPATH (tests only).

Blocks outbound network connections: anything but loopback and Unix sockets raises OSError and is
written to the file named by CS_DOJO_NET_LOG, so a test can fail on any attempt, even a swallowed one.
"""
import ipaddress
import os
import socket

_LOG = os.environ.get("CS_DOJO_NET_LOG")
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def _is_local(host) -> bool:
    if host is None:
        return True
    host = host.decode() if isinstance(host, bytes) else str(host)
    if host in _LOCAL_NAMES or host == "":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _record(what: str) -> None:
    if _LOG:
        with open(_LOG, "a", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()} {what}\n")


def _check(sock, address) -> None:
    if sock.family == getattr(socket, "AF_UNIX", None):
        return
    host = address[0] if isinstance(address, tuple) else address
    if not _is_local(host):
        _record(f"connect {address!r}")
        raise OSError(f"network access blocked in CS Dojo tests: {address!r}")


def _connect(self, address):
    _check(self, address)
    return _real_connect(self, address)


def _connect_ex(self, address):
    _check(self, address)
    return _real_connect_ex(self, address)


def _getaddrinfo(host, *args, **kwargs):
    if not _is_local(host):
        _record(f"getaddrinfo {host!r}")
        raise socket.gaierror(f"name lookup blocked in CS Dojo tests: {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


socket.socket.connect = _connect
socket.socket.connect_ex = _connect_ex
socket.getaddrinfo = _getaddrinfo
