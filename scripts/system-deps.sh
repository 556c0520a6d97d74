#!/usr/bin/env bash
# Install what the test suite needs from Debian (Chromium, Dovecot, fonts, PostgreSQL) and make sure PostgreSQL is up.
# Idempotent: does nothing when everything is already there.
set -euo pipefail

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
# Dovecot: the IMAP server the mailbox sync tests run against (started by the fixtures, not as a service).
{ command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ]; } || need_apt+=(dovecot-imapd)
fc-list 2>/dev/null | grep -qi dejavu || need_apt+=(fonts-dejavu-core)
# Pango: WeasyPrint (the quote PDFs) lays out text with it.
for lib in libpango-1.0-0 libpangoft2-1.0-0; do
  ldconfig -p 2>/dev/null | grep -q "${lib%-0}.so.0" || need_apt+=("$lib")
done
if ! command -v pg_isready >/dev/null 2>&1; then need_apt+=(postgresql); fi

if ((${#need_apt[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "Missing Debian packages: ${need_apt[*]} (run as root or install them: apt-get install ${need_apt[*]})" >&2
    exit 1
  fi
  echo "Installing Debian packages: ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# PostgreSQL: the suite runs a second time against a real server (trust auth, user postgres).
if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  echo "Starting PostgreSQL"
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    for version in $(ls /etc/postgresql 2>/dev/null); do
      pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    done
  fi
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  echo "PostgreSQL is not answering on 127.0.0.1:5432; the PostgreSQL test run cannot go ahead." >&2
  exit 1
fi
