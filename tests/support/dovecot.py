"""A real Dovecot (IMAP and POP3, plain and SSL) for the e-mail trigger tests.

Each server gets a temporary directory with its own configuration, a passwd-file with two
users (a mailbox user, and a master user that may log in as any user: how a shared mailbox is
reached), Maildir homes, and a self-signed certificate for 127.0.0.1 and localhost made with
`cryptography`. It listens on free ports of 127.0.0.1 and runs in the foreground as a child
of the test process. Under a normal user it runs entirely as that user; under root (CI
containers) its login and mail processes run as Dovecot's own unprivileged system users.

Dovecot comes from the distribution (dovecot-imapd, dovecot-pop3d; `scripts/bootstrap dev`
installs them when it can)."""

from __future__ import annotations

import datetime as dt
import grp
import imaplib
import ipaddress
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.server import free_port

USER = "robot-mail"
PASSWORD = "mail-password-1"
MASTER = "mail-master"
MASTER_PASSWORD = "master-password-1"
DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


def _certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


@dataclass
class Dovecot:
    root: Path
    imap_port: int = field(default_factory=free_port)
    imaps_port: int = field(default_factory=free_port)
    pop3_port: int = field(default_factory=free_port)
    pop3s_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    cert: Path | None = None

    host = "127.0.0.1"
    user = USER
    password = PASSWORD
    master = MASTER
    master_password = MASTER_PASSWORD

    def _accounts(self) -> tuple[str, str, int, int]:
        """Internal user, login user, and the uid/gid the mail processes run as."""
        if os.geteuid() != 0:
            me = pwd.getpwuid(os.geteuid()).pw_name
            return me, me, os.geteuid(), os.getegid()
        # Dovecot refuses to run its login processes as root.
        internal = pwd.getpwnam("dovecot")
        return "dovecot", "dovenull", internal.pw_uid, internal.pw_gid

    def configure(self) -> Path:
        internal, login, uid, gid = self._accounts()
        group = grp.getgrgid(gid).gr_name if os.geteuid() != 0 else "dovecot"
        self.cert, key = _certificate(self.root)
        home = self.root / "mail" / USER
        home.mkdir(parents=True)
        for path in (self.root / "mail", home):
            os.chown(path, uid, gid)
        users = self.root / "users"
        users.write_text(f"{USER}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{home}::\n")
        masters = self.root / "masters"
        masters.write_text(f"{MASTER}:{{PLAIN}}{MASTER_PASSWORD}\n")
        (self.root / "state").mkdir()
        config = self.root / "dovecot.conf"
        config.write_text(
            f"""
base_dir = {self.root}/run
state_dir = {self.root}/state
instance_name = robofleet-test-{self.imap_port}
protocols = imap pop3
listen = 127.0.0.1
log_path = {self.root}/dovecot.log
ssl = yes
ssl_cert = <{self.cert}
ssl_key = <{key}
auth_mechanisms = plain login
auth_failure_delay = 0
disable_plaintext_auth = no
auth_master_user_separator = *
default_internal_user = {internal}
default_internal_group = {group}
default_login_user = {login}
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  separator = .
}}
passdb {{
  driver = passwd-file
  args = {masters}
  master = yes
}}
passdb {{
  driver = passwd-file
  args = {users}
}}
userdb {{
  driver = passwd-file
  args = {users}
}}
service imap-login {{
  inet_listener imap {{
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    port = {self.imaps_port}
    ssl = yes
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {self.pop3_port}
  }}
  inet_listener pop3s {{
    port = {self.pop3s_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""
        )
        return config

    def start(self, timeout: float = 20) -> Dovecot:
        config = self.configure()
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot exited {self.process.returncode}:\n{self.log()}")
            try:
                with socket.create_connection((self.host, self.imap_port), timeout=1) as sock:
                    if sock.recv(64).startswith(b"* OK"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"dovecot did not answer within {timeout} s:\n{self.log()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # The test's own view of the mailbox, over IMAP like any mail client.

    @contextmanager
    def imap(self) -> Iterator[imaplib.IMAP4]:
        client = imaplib.IMAP4(self.host, self.imap_port, timeout=10)
        try:
            client.login(USER, PASSWORD)
            yield client
        finally:
            client.logout()

    def create_folder(self, name: str) -> None:
        with self.imap() as client:
            status, data = client.create(f'"{name}"')
            assert status == "OK", data

    def append(self, raw: bytes, *, folder: str = "INBOX", seen: bool = False) -> None:
        with self.imap() as client:
            flags = r"(\Seen)" if seen else None
            status, data = client.append(f'"{folder}"', flags, None, raw)
            assert status == "OK", data

    def unseen_subjects(self, folder: str = "INBOX") -> list[str]:
        return self._subjects(folder, "UNSEEN")

    def subjects(self, folder: str = "INBOX") -> list[str]:
        return self._subjects(folder, "ALL")

    def _subjects(self, folder: str, criterion: str) -> list[str]:
        with self.imap() as client:
            client.select(f'"{folder}"', readonly=True)
            _, found = client.uid("SEARCH", criterion)
            subjects = []
            for uid in found[0].split():
                _, data = client.uid("FETCH", uid, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
                header = data[0][1] if isinstance(data[0], tuple) else b""
                subjects.append(header.decode().partition(":")[2].strip())
            return subjects


@contextmanager
def running_dovecot() -> Iterator[Dovecot]:
    if not Path(DOVECOT).exists():
        raise RuntimeError(
            "Dovecot is not installed: run scripts/bootstrap dev as root, or "
            "`apt-get install dovecot-imapd dovecot-pop3d`"
        )
    root = Path(tempfile.mkdtemp(prefix="robofleet-dovecot-"))
    root.chmod(0o755)  # Dovecot's unprivileged processes must reach the mail homes
    server = Dovecot(root)
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
