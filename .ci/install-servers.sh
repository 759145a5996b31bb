#!/usr/bin/env bash
# Install the real mail servers the interop tests run on loopback: Dovecot
# (IMAP, POP3, LMTP, SASL) and Postfix, from Debian's packages; Courier-IMAP's
# imapd, for UTF8=ACCEPT (RFC 6855), which Dovecot 2.3 lacks; and tshark,
# which dissects the pcapng files the transcripts export.
#
#   sudo bash .ci/install-servers.sh
#
# Idempotent and non-interactive: returns at once when everything is already
# installed; never starts a system service (the tests run their own
# instances, each in a temporary directory; see tests/lab/).
set -euo pipefail

# tshark checks the pcapng export (tests/interop/test_pcapng_export.py).
PACKAGES=(dovecot-imapd dovecot-pop3d dovecot-lmtpd postfix tshark)
# courier-imap conflicts with dovecot-imapd (both are the imap-server): its
# libraries are installed as packages and the package itself is only unpacked
# into COURIER_DIR (tests/lab/courier.py runs its imapd from there).
PACKAGES+=(courier-authlib libcourier-unicode4 libgamin0 libgdbm6 libidn12)
COURIER_DIR=/opt/mailwire-lab/courier-imap
APT_OPTS=(
    -o DPkg::Lock::Timeout=300          # wait for another apt/dpkg run instead of failing
    -o Dpkg::Options::=--force-confdef  # never ask about conffiles on a reinstall
    -o Dpkg::Options::=--force-confold
)

say() { printf 'install-servers: %s\n' "$*" >&2; }

installed() {
    local pkg status
    for pkg in "${PACKAGES[@]}"; do
        status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
        [[ $status == installed ]] || return 1
    done
}

unpacked() { [[ -x $COURIER_DIR/usr/bin/imapd ]]; }

unpack_courier() {
    local tmp
    tmp=$(mktemp -d)
    chmod 0755 "$tmp"  # apt's _apt user downloads into it
    (cd "$tmp" && apt-get "${APT_OPTS[@]}" download -q courier-imap)
    rm -rf "$COURIER_DIR"
    mkdir -p "$COURIER_DIR"
    dpkg-deb -x "$tmp"/courier-imap_*.deb "$COURIER_DIR"
    rm -rf "$tmp"
    unpacked
}

if installed && unpacked; then
    say "already installed: ${PACKAGES[*]}; Courier imapd in $COURIER_DIR"
    exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
    say "installing packages needs root: sudo bash .ci/install-servers.sh"
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    say "apt-get not found: this script knows Debian and Ubuntu only;"
    say "install Dovecot (imapd, pop3d, lmtpd) and Postfix with your package manager"
    exit 1
fi

started=$SECONDS
export DEBIAN_FRONTEND=noninteractive
export DEBCONF_NONINTERACTIVE_SEEN=true

# Postfix asks "General mail configuration type"; "No configuration" writes no
# /etc/postfix/main.cf at all, and the tests bring their own configuration.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
# wireshark-common asks whether non-root users may capture; no.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections

# Without systemd (containers, CI), the maintainer scripts would start Dovecot
# on *:143/993/110/995 and Postfix on *:25 right after unpacking. A
# policy-rc.d that exits 101 forbids that. Keep an existing one; otherwise put
# one in place for the duration of this script.
policy=/usr/sbin/policy-rc.d
own_policy=
if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\n# temporary, from .ci/install-servers.sh\nexit 101\n' >"$policy"
    chmod 0755 "$policy"
    own_policy=yes
fi
cleanup() { if [[ -n $own_policy ]]; then rm -f "$policy"; fi; }
trap cleanup EXIT

has_candidates() {
    local pkg policy
    for pkg in "${PACKAGES[@]}"; do
        # Read the whole answer first: "| grep -q" would end the pipe early,
        # and under pipefail apt-cache's SIGPIPE counts as a failure.
        policy=$(apt-cache policy "$pkg" 2>/dev/null || true)
        [[ $policy == *"Candidate: "[0-9]* ]] || return 1
    done
}

update() { apt-get "${APT_OPTS[@]}" update -q; }

install() {
    apt-get "${APT_OPTS[@]}" install -y -q --no-install-recommends "${PACKAGES[@]}"
}

# Only refresh the package lists when they do not know the packages (a fresh
# machine), or when they are stale enough that a download fails.
updated=
if ! has_candidates; then
    update
    updated=yes
fi
if ! install; then
    [[ -z $updated ]] || exit 1
    say "install failed; refreshing the package lists and trying once more"
    update
    install
fi

if ! unpacked && ! unpack_courier; then
    say "could not unpack courier-imap into $COURIER_DIR"
    exit 1
fi

for prog in dovecot doveadm postfix postconf; do
    if ! command -v "$prog" >/dev/null 2>&1 && [[ ! -x /usr/sbin/$prog && ! -x /usr/bin/$prog ]]; then
        say "$prog is missing after the install"
        exit 1
    fi
done

# policy-rc.d only stopped the services from starting now; under systemd their
# units stay enabled for the next boot. The tests never use them.
if [[ -d /run/systemd/system ]]; then
    say "note: the system's dovecot and postfix units are enabled; the tests do not need them"
    say "      (systemctl disable --now dovecot postfix, if you do not want them)"
fi
say "installed ${PACKAGES[*]} and Courier imapd ($COURIER_DIR) in $((SECONDS - started)) s"
