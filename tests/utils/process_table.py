"""What a group of processes exposes, read from Linux's /proc (no psutil, no `ss`): their
listening TCP sockets and their command lines. The end-to-end tests use it on the stack."""

from __future__ import annotations

import ipaddress
import socket
import struct
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
LISTEN = "0A"  # the TCP state in /proc/net/tcp{,6}


@dataclass(frozen=True)
class Listener:
    pid: int
    address: str
    port: int

    @property
    def loopback(self) -> bool:
        ip = ipaddress.ip_address(self.address)
        mapped = getattr(ip, "ipv4_mapped", None)  # ::ffff:127.0.0.1 is loopback too
        return bool(ip.is_loopback or (mapped is not None and mapped.is_loopback))


def processes_in_groups(groups: set[int]) -> set[int]:
    """Every live process whose process group is one of `groups` (a supervised child and
    whatever it started: uvicorn's workers, Sanic's, TensorFlow's helpers)."""
    found: set[int] = set()
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # it ended meanwhile
            continue
        # "pid (command) state ppid pgrp ...": the command may hold spaces and parentheses.
        after_command = stat.rsplit(")", 1)[1].split()
        if int(after_command[2]) in groups:
            found.add(int(entry.name))
    return found


def listeners(pids: set[int]) -> list[Listener]:
    """The TCP sockets these processes listen on."""
    listening = _listening_sockets()
    found = []
    for pid in pids:
        for inode in _socket_inodes(pid):
            if inode in listening:
                address, port = listening[inode]
                found.append(Listener(pid, address, port))
    return found


def command_line(pid: int) -> str:
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace")


def _socket_inodes(pid: int) -> set[int]:
    inodes: set[int] = set()
    try:
        fds = list((PROC / str(pid) / "fd").iterdir())
    except OSError:
        return inodes
    for fd in fds:
        try:
            target = fd.readlink().name
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[len("socket:[") : -1]))
    return inodes


def _listening_sockets() -> dict[int, tuple[str, int]]:
    """inode -> (address, port) of every listening TCP socket of this network namespace."""
    found = {}
    for table, decode in (("tcp", _ipv4), ("tcp6", _ipv6)):
        path = PROC / "net" / table
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], int(fields[9])
            if state == LISTEN:
                address, port = local.split(":")
                found[inode] = (decode(address), int(port, 16))
    return found


def _ipv4(hex_address: str) -> str:
    return socket.inet_ntop(socket.AF_INET, struct.pack("<I", int(hex_address, 16)))


def _ipv6(hex_address: str) -> str:
    words = [struct.pack("<I", int(hex_address[i : i + 8], 16)) for i in range(0, 32, 8)]
    return socket.inet_ntop(socket.AF_INET6, b"".join(words))
