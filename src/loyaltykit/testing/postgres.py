"""A throwaway PostgreSQL server for tests and benchmarks: initdb in a temporary folder,
a Unix socket in that folder, no TCP port, stopped (and its folder removed) at the end.

    cluster = Cluster()                      # about a second
    url = cluster.create_database("shop")    # postgresql://postgres@/shop?host=/tmp/...
    ...
    cluster.stop()


The server binaries come from Debian's `postgresql-NN` package, which does not put them
on PATH: they are looked up there (`/usr/lib/postgresql/*/bin`) and on PATH. PostgreSQL
refuses to run as root, so under root (CI) the server runs as the `postgres` user through
`runuser`. If no server can be found, the tests fail with one line saying how to install
one: they never skip silently.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["INSTALL_HINT", "Cluster", "find_bin_dir"]

INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl) not found: install them with "
    "`apt-get install postgresql` (Debian/Ubuntu) or put their folder on PATH"
)


def find_bin_dir() -> Path:
    """The folder holding initdb and pg_ctl (the newest Debian version first)."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
        reverse=True,
    )
    for initdb in candidates:
        if Path(initdb).with_name("pg_ctl").exists():
            return Path(initdb).parent
    raise RuntimeError(INSTALL_HINT)


class Cluster:
    """One running server; `url(dbname)` connects over its socket."""

    def __init__(self) -> None:
        self.bin = find_bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="loyaltykit-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root
        self._as_root = os.geteuid() == 0
        if self._as_root:
            shutil.chown(self.root, "postgres", "postgres")
            self.root.chmod(0o700)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
            "--locale=C",
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.root / "server.log"),
            "-w",
            "-o",
            f"-k {self.socket_dir} -c listen_addresses='' -c max_connections=60",
            "start",
        )
        self._running = True

    def _command(self, tool: str, *args: str) -> list[str]:
        command = [str(self.bin / tool), *args]
        return ["runuser", "-u", "postgres", "--", *command] if self._as_root else command

    def _run(self, tool: str, *args: str) -> None:
        result = subprocess.run(
            self._command(tool, *args), capture_output=True, text=True, timeout=120
        )
        if result.returncode != 0:
            log = self.root / "server.log"
            extra = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{tool} failed: {result.stderr or result.stdout}\n{extra}")

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@/{dbname}?host={self.socket_dir}"

    def create_database(self, dbname: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as db:
            db.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(dbname)))
        return self.url(dbname)

    def stop(self) -> None:
        if self._running:
            self._running = False
            try:
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
            finally:
                shutil.rmtree(self.root, ignore_errors=True)
