"""A real Dovecot IMAP server on loopback for the bounce tests.

    with running_dovecot() as server:
        server.url                     # imap://bounces:secret@127.0.0.1:PORT
        server.append(raw_bytes)       # deliver a message into INBOX (IMAP APPEND)
        server.unseen()                # how many INBOX messages are not \\Seen

It writes a minimal dovecot.conf into a temporary directory (IMAP only, plain-text login on
127.0.0.1 and a free port, a passwd-file with one user, maildir storage, every runtime path
inside the directory), runs `dovecot -F -c CONF` and stops it afterwards. Without Dovecot the
tests skip ("install dovecot-imapd"); under CI=true they fail instead.
"""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import IN_CI

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER, SECRET = "bounces", "s3cret"


def dovecot_or_skip() -> str:
    if not os.path.exists(DOVECOT):
        message = (
            "the bounce tests need Dovecot: install dovecot-imapd (apt-get install dovecot-imapd)"
        )
        if IN_CI:
            pytest.fail("CI=true but " + message)
        pytest.skip(message)
    return DOVECOT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _accounts() -> tuple[str, str, pwd.struct_passwd]:
    """(internal user, login user, mail user): Dovecot's own users when run as root (it
    refuses mail as root), else whoever runs the tests for all three."""
    if os.geteuid() == 0:
        return "dovecot", "dovenull", pwd.getpwnam("nobody")
    me = pwd.getpwuid(os.geteuid())
    return me.pw_name, me.pw_name, me


CONF = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_login_user = {login}
first_valid_uid = {uid}
first_valid_gid = {gid}
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


@dataclass
class Dovecot:
    port: int
    root: Path

    @property
    def url(self) -> str:
        return f"imap://{USER}:{SECRET}@127.0.0.1:{self.port}"

    def _login(self) -> imaplib.IMAP4:
        imap = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        imap.login(USER, SECRET)
        return imap

    def append(self, raw: bytes) -> None:
        """Deliver `raw` into INBOX, unseen."""
        imap = self._login()
        try:
            status, _ = imap.append("INBOX", None, None, raw)
            assert status == "OK", status
        finally:
            imap.logout()

    def unseen(self) -> int:
        imap = self._login()
        try:
            imap.select("INBOX", readonly=True)
            _, data = imap.search(None, "UNSEEN")
            return len(data[0].split())
        finally:
            imap.logout()

    def empty(self) -> None:
        """Delete every message of INBOX (between tests)."""
        imap = self._login()
        try:
            imap.select("INBOX")
            imap.store("1:*", "+FLAGS", "\\Deleted")
            imap.expunge()
        except imaplib.IMAP4.error:
            pass  # an empty mailbox has no 1:*
        finally:
            imap.logout()


@contextmanager
def running_dovecot() -> Iterator[Dovecot]:
    binary = dovecot_or_skip()
    internal, login, mail = _accounts()
    root = Path(tempfile.mkdtemp(prefix="kw-dovecot-"))
    root.chmod(0o755)  # Dovecot's own users read their sockets and the mail user its mail
    for name in ("run", "state", "mail", "home"):
        (root / name).mkdir()
    for name in ("mail", "home"):
        os.chown(root / name, mail.pw_uid, mail.pw_gid)
    (root / "users").write_text(f"{USER}:{{PLAIN}}{SECRET}\n")
    port = _free_port()
    conf = root / "dovecot.conf"
    conf.write_text(
        CONF.format(
            root=root,
            internal=internal,
            login=login,
            uid=mail.pw_uid,
            gid=mail.pw_gid,
            port=port,
        )
    )
    process = subprocess.Popen(
        [binary, "-F", "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        server = Dovecot(port, root)
        _wait(server, process)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(root, ignore_errors=True)


def _wait(server: Dovecot, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while True:
        if process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            log = server.root / "dovecot.log"
            output += log.read_text() if log.exists() else ""
            raise RuntimeError(f"dovecot stopped at start: {output[-2000:]}")
        try:
            server.unseen()
            return
        except (OSError, imaplib.IMAP4.error):
            if time.monotonic() > deadline:
                log = server.root / "dovecot.log"
                raise RuntimeError(
                    "dovecot did not answer: " + (log.read_text()[-2000:] if log.exists() else "")
                ) from None
            time.sleep(0.1)
