"""A real PostgreSQL server for tests: Debian's ``postgresql`` binaries, a fresh cluster in a temporary
folder, listening on 127.0.0.1 at a free port, stopped afterwards. As root (initdb refuses root), the
server runs as the ``postgres`` system user. ``find_bin`` returns None when PostgreSQL is not installed."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from llm_servers import free_port

START_SECONDS = 60


def find_bin() -> Path | None:
    """The folder holding initdb, pg_ctl and createdb (Debian's /usr/lib/postgresql/N/bin, then PATH)."""
    needed = ("initdb", "pg_ctl", "createdb")
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if all((folder / name).exists() for name in needed):
            return folder
    found = shutil.which("pg_ctl")
    if found and all((Path(found).parent / name).exists() for name in needed):
        return Path(found).parent
    return None


def _as_server_user(command: Sequence[str]) -> list[str]:
    if os.geteuid() != 0:
        return list(command)
    return ["runuser", "-u", "postgres", "--", *command]


@contextmanager
def postgres_server() -> Iterator[str]:
    """A running server; yields a ``postgresql://`` URL of an empty database ``feedback``. Its folder is
    made directly under the temporary directory, which the ``postgres`` user can reach (pytest's is root's)."""
    binaries = find_bin()
    assert binaries is not None
    with tempfile.TemporaryDirectory(prefix="aqa-postgres-") as scratch:
        yield from _serve(binaries, Path(scratch))


def _serve(binaries: Path, folder: Path) -> Iterator[str]:
    data, sockets = folder / "data", folder / "sockets"
    data.mkdir()
    sockets.mkdir()
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        for path in (folder, data, sockets):
            os.chown(path, user.pw_uid, user.pw_gid)
    run = {"check": True, "capture_output": True, "timeout": 120}
    subprocess.run(_as_server_user([str(binaries / "initdb"), "-D", str(data), "-U", "aqa", "--auth=trust"]), **run)
    port = free_port()
    options = f"-h 127.0.0.1 -p {port} -k {sockets} -c fsync=off"
    log = folder / "server.log"
    pg_ctl = str(binaries / "pg_ctl")
    subprocess.run(_as_server_user([pg_ctl, "-D", str(data), "-l", str(log), "-o", options, "-w", "start"]), **run)
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            createdb = [str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "aqa", "feedback"]
            done = subprocess.run(createdb, capture_output=True, timeout=30)
            if done.returncode == 0:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start: {done.stderr.decode()}; see {log}")
            time.sleep(0.5)
        yield f"postgresql://aqa@127.0.0.1:{port}/feedback"
    finally:
        stop = [pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"]
        subprocess.run(_as_server_user(stop), capture_output=True, timeout=60)
