"""The system lab: the installed Dovecot and Postfix, as a private instance.

``mailwire demo --servers system`` runs the Debian/Ubuntu packages' daemons
with a configuration written into the demo's temporary directory; nothing
in /etc is read or changed, and every listener is on 127.0.0.1:

- Postfix ``submission`` (STARTTLS required, then AUTH through Dovecot's
  SASL socket), delivering to Dovecot's LMTP socket;
- Dovecot POP3S (implicit TLS), POP3 (STLS) and IMAP (STARTTLS).

Both run in the foreground as children of the demo (``dovecot -F``,
``postfix start-fg``), so they are stopped by PID and reaped; Postfix's
master (below its start-up shell) is found through its pid file and checked
against the work directory before it is signalled.

Postfix refuses to start for anyone but root ("the postfix command is
reserved for the superuser"), so this lab needs root; Dovecot alone would
not. As root Dovecot runs its logins as ``dovenull``, its internals as
``dovecot`` and mail access as the ``mail`` user, as packaged.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

from mailwire.demo._accounts import DOMAIN, Account
from mailwire.demo._certs import LabCertificates, make_certificates
from mailwire.demo._errors import LabError, LabUnavailable
from mailwire.demo._lab import Listener, wait_for_message

__all__ = ["SystemLab"]

INSTALL_HINT = (
    "install them (Debian/Ubuntu: sudo apt-get install dovecot-imapd dovecot-pop3d "
    "dovecot-lmtpd postfix), or use the Python servers: mailwire demo"
)
_SBIN = ("/usr/sbin", "/sbin", "/usr/local/sbin")

_DOVECOT_CONF = """\
# Written by mailwire demo for one run; nothing from /etc/dovecot is read.
instance_name = mailwire-demo-{name}
protocols = imap pop3 lmtp
listen = 127.0.0.1
base_dir = {work}/run
state_dir = {work}/state
log_path = {work}/log/dovecot.log
hostname = lab.localhost
default_login_user = dovenull
default_internal_user = dovecot
default_internal_group = dovecot
first_valid_uid = 1
first_valid_gid = 1
ssl = yes
ssl_cert = <{chain}
ssl_key = <{key}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login
# alice, alice@example.test and Alice@Example.Test all name alice.
auth_username_format = %Ln
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%n {work}/etc/passwd
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={work}/mail/%n
}}
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  separator = /
}}
service imap-login {{
  inet_listener imap {{
    port = {imap}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {pop3}
  }}
  inet_listener pop3s {{
    port = {pop3s}
    ssl = yes
  }}
}}
service lmtp {{
  unix_listener lmtp {{
    mode = 0666
  }}
}}
service auth {{
  unix_listener auth-postfix {{
    mode = 0660
    user = postfix
    group = postfix
  }}
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
protocol lmtp {{
  auth_username_format = %Ln
}}
"""

_MAIN_CF = """\
# Written by mailwire demo for one run; /etc/postfix is not read.
compatibility_level = 3.6
config_directory = {work}/etc/postfix
queue_directory = {work}/spool
data_directory = {work}/data
{program_dirs}
mail_owner = postfix
setgid_group = postdrop
syslog_name = mailwire-demo-postfix
maillog_file = {work}/log/postfix.log
maillog_file_prefixes = {work}/log
multi_instance_directories =
# Loopback only, no DNS, and nothing can leave the machine.
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = lab.localhost
mydomain = localhost
myorigin = {domain}
mydestination =
mynetworks = 127.0.0.0/8
relay_domains =
relayhost =
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
lmtp_dns_support_level = disabled
default_transport = error:5.7.1 the mailwire demo lab sends nothing off this machine
relay_transport = error:5.7.1 the mailwire demo lab does not relay
local_transport = error:5.1.1 the mailwire demo lab has no local delivery
alias_maps =
alias_database =
local_recipient_maps =
biff = no
smtpd_banner = $myhostname ESMTP Postfix (mailwire demo lab)
virtual_mailbox_domains = {domain}
virtual_mailbox_maps = texthash:{work}/etc/postfix/mailboxes
virtual_transport = lmtp:unix:{work}/run/lmtp
smtpd_tls_chain_files = {key}, {chain}
smtpd_tls_security_level = encrypt
smtpd_tls_auth_only = yes
smtpd_tls_session_cache_database =
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = {work}/run/auth-postfix
smtpd_sasl_security_options = noanonymous
smtpd_client_restrictions = permit_sasl_authenticated, reject
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_recipient_restrictions = reject_unlisted_recipient
"""

_MASTER_CF = """\
127.0.0.1:{submission} inet n - n - - smtpd
  -o syslog_name=mailwire-demo-postfix/submission
pickup    unix  n - n 60    1 pickup
cleanup   unix  n - n -     0 cleanup
qmgr      unix  n - n 300   1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n -     - trivial-rewrite
bounce    unix  - - n -     0 bounce
defer     unix  - - n -     0 bounce
trace     unix  - - n -     0 bounce
verify    unix  - - n -     1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -     - proxymap
showq     unix  n - n -     - showq
error     unix  - - n -     - error
retry     unix  - - n -     - error
discard   unix  - - n -     - discard
lmtp      unix  - - n -     - lmtp
anvil     unix  - - n -     1 anvil
scache    unix  - - n -     1 scache
postlog   unix-dgram n - n - 1 postlogd
"""


def _program(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path=os.pathsep.join(_SBIN))


def _free_ports(count: int, host: str) -> list[int]:
    """Ports the kernel says are free now (a daemon binds them a moment later)."""
    socks = [socket.create_server((host, 0)) for _ in range(count)]
    try:
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def _first_line(argv: list[str]) -> str:
    # argv[0] is a program found by name on PATH/sbin; no shell is involved.
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=30)  # noqa: S603
    return result.stdout.strip().splitlines()[0] if result.stdout.strip() else ""


class SystemLab:
    """Dovecot + Postfix on loopback; see the module docstring."""

    kind = "system"
    host = "127.0.0.1"

    def __init__(self, workdir: Path, accounts: Mapping[str, Account]) -> None:
        self.workdir = workdir
        self.accounts = accounts
        self.listeners: list[Listener] = []
        self.certs: LabCertificates
        self._programs: dict[str, str] = {}
        self._children: list[subprocess.Popen[bytes]] = []

    @property
    def ports(self) -> dict[str, int]:
        return {listener.key: listener.port for listener in self.listeners}

    def check(self) -> None:
        """Raise LabUnavailable unless both servers are installed and we are root."""
        for name in ("dovecot", "postfix", "postconf"):
            path = _program(name)
            if path is None:
                raise LabUnavailable(f"{name} is not installed here", INSTALL_HINT)
            self._programs[name] = path
        if os.geteuid() != 0:
            raise LabUnavailable(
                "Postfix runs only as root (its postfix command refuses anyone else), "
                "and you are not root",
                "run it as root (sudo mailwire demo --servers system), "
                "or use the Python servers, which need no root: mailwire demo",
            )

    def start(self) -> SystemLab:
        self.check()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        work = self.workdir
        for sub in ("etc/postfix", "run", "state", "log", "mail", "spool", "data"):
            (work / sub).mkdir(parents=True, exist_ok=True)
        self.certs = make_certificates(work / "tls")
        imap, pop3, pop3s, submission = _free_ports(4, self.host)
        self._write_dovecot(imap=imap, pop3=pop3, pop3s=pop3s)
        self._write_postfix(submission)
        dovecot = self._spawn(
            "dovecot", [self._programs["dovecot"], "-F", "-c", str(work / "etc" / "dovecot.conf")]
        )
        context = self.certs.client_context()
        deadline = time.monotonic() + 30
        for port, tls in ((imap, None), (pop3, None), (pop3s, context)):
            _wait_for_greeting(
                self.host, port, context=tls, deadline=deadline, child=dovecot, logs=self.log_tail
            )
        postfix = self._spawn(
            "postfix", [self._programs["postfix"], "-c", str(work / "etc" / "postfix"), "start-fg"]
        )
        _wait_for_greeting(
            self.host,
            submission,
            context=None,
            deadline=deadline,
            child=postfix,
            logs=self.log_tail,
        )
        dovecot_version = (
            "Dovecot " + _first_line([self._programs["dovecot"], "--version"]).split()[0]
        )
        postfix_version = "Postfix " + _first_line(
            [self._programs["postconf"], "-dh", "mail_version"]
        )
        self.listeners = [
            Listener(
                "submission",
                "SMTP",
                postfix_version,
                submission,
                "submission: STARTTLS required, then AUTH PLAIN or LOGIN (Dovecot SASL)",
            ),
            Listener("pop3s", "POP3", dovecot_version, pop3s, "implicit TLS"),
            Listener("pop3", "POP3", dovecot_version, pop3, "STLS"),
            Listener("imap", "IMAP", dovecot_version, imap, "STARTTLS"),
        ]

    def _write_dovecot(self, **ports: int) -> None:
        work = self.workdir
        mail = pwd.getpwnam("mail")
        text = _DOVECOT_CONF.format(
            name=work.name,
            work=work,
            chain=self.certs.chain_file,
            key=self.certs.key_file,
            mail_uid=mail.pw_uid,
            mail_gid=mail.pw_gid,
            **ports,
        )
        (work / "etc" / "dovecot.conf").write_text(text, encoding="utf-8")
        passwd = work / "etc" / "passwd"
        passwd.write_text(
            "".join(f"{a.name}:{a.password}\n" for a in self.accounts.values()), encoding="utf-8"
        )
        # Dovecot's auth process (user dovecot) reads the passwords; nobody else.
        passwd.chmod(0o640)
        os.chown(passwd, 0, grp.getgrnam("dovecot").gr_gid)
        # Postfix (user postfix) must reach the sockets in run/.
        for path in (work, work / "run", work / "etc"):
            path.chmod(0o755)
        os.chown(work / "mail", mail.pw_uid, mail.pw_gid)
        (work / "mail").chmod(0o700)

    def _write_postfix(self, submission: int) -> None:
        work = self.workdir
        etc = work / "etc" / "postfix"
        program_dirs = "\n".join(
            f"{name} = {_first_line([self._programs['postconf'], '-dh', name])}"
            for name in (
                "command_directory",
                "daemon_directory",
                "shlib_directory",
                "meta_directory",
            )
        )
        (etc / "main.cf").write_text(
            _MAIN_CF.format(
                work=work,
                domain=DOMAIN,
                program_dirs=program_dirs,
                chain=self.certs.chain_file,
                key=self.certs.key_file,
            ),
            encoding="utf-8",
        )
        (etc / "master.cf").write_text(_MASTER_CF.format(submission=submission), encoding="utf-8")
        (etc / "mailboxes").write_text(
            "".join(f"{a.address} {a.name}/Maildir/\n" for a in self.accounts.values()),
            encoding="utf-8",
        )
        shutil.chown(work / "data", "postfix")
        # Postfix waits for a main.cf changed in the last seconds to settle
        # (~2 s at each start); these files are complete, so date them back.
        past = time.time() - 60
        for path in etc.iterdir():
            os.utime(path, (past, past))

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        # The daemons' output goes to a file: they would otherwise hold the
        # demo's stdout open (a pipe reading it would never end).
        with open(self.workdir / "log" / f"{name}.stderr", "wb") as log:
            child = subprocess.Popen(  # noqa: S603 - a program found by name, no shell
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        self._children.append(child)
        return child

    def wait_for_message(self, account: Account, needle: bytes, timeout: float) -> None:
        wait_for_message(self.workdir / "mail" / account.name / "Maildir", needle, timeout)

    def log_tail(self, lines: int = 20) -> str:
        parts = []
        for path in sorted((self.workdir / "log").glob("*")):
            with contextlib.suppress(OSError):
                text = path.read_text("utf-8", errors="replace").strip()
                if text:
                    parts.append(f"--- {path.name} ---\n" + "\n".join(text.splitlines()[-lines:]))
        return "\n".join(parts)

    def stop(self) -> None:
        """Stop Postfix's master, then each child we started; idempotent."""
        master = self._postfix_master()
        if master is not None:
            _terminate(master)
        for child in reversed(self._children):
            # SIGTERM to the master only: it stops its services itself (~0.1-1 s).
            # Signalling them too makes it slower: a killed "log" process leaves
            # the others waiting to write their last lines (~6 s).
            if child.poll() is None:
                child.terminate()
                try:
                    child.wait(15)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait(10)
        self._children = []

    def _postfix_master(self) -> int | None:
        """Postfix's master PID from its pid file, if alive and ours."""
        try:
            text = (self.workdir / "spool" / "pid" / "master.pid").read_text("ascii").strip()
        except OSError:
            return None
        if not text.isdigit():
            return None
        pid = int(text)
        if not _alive(pid):
            return None
        for name in ("cmdline", "environ"):  # never a recycled PID: it must name our dir
            with contextlib.suppress(OSError):
                if str(self.workdir).encode() in Path(f"/proc/{pid}/{name}").read_bytes():
                    return pid
        return None


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, waiting to be reaped, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text("ascii", errors="replace")
    except OSError:
        return False
    fields = stat.rpartition(")")[2].split()
    return bool(fields) and fields[0] not in {"Z", "X"}


def _terminate(pid: int, timeout: float = 10.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            return
        time.sleep(0.02)


def _wait_for_greeting(
    host: str,
    port: int,
    *,
    context: ssl.SSLContext | None,
    deadline: float,
    child: subprocess.Popen[bytes],
    logs: object,
) -> None:
    """Wait until ``host:port`` sends its first byte (after TLS, with a context)."""
    while True:
        if child.poll() is not None:
            raise LabError(f"pid {child.pid} exited with status {child.returncode}:\n{_call(logs)}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), 2) as sock:
            if context is None:
                if sock.recv(1):
                    return
            else:
                with context.wrap_socket(sock, server_hostname=host) as tls:
                    if tls.recv(1):
                        return
        if time.monotonic() > deadline:
            raise LabError(f"nothing answered on {host}:{port}:\n{_call(logs)}")
        time.sleep(0.02)


def _call(logs: object) -> str:
    return str(logs()) if callable(logs) else ""
