#!/usr/bin/env bash
# Install the single sign-on stack from Debian packages (idempotent):
#   - slapd + ldap-utils: the OpenLDAP directory (demo people and groups);
#   - LemonLDAP::NG 2.16 portal (Perl libraries only: no Apache, no system config used);
#   - starman: a Debian-packaged PSGI server that runs the portal (and the handler) on 127.0.0.1;
#   - nginx: the sign-on gateway in front of Dagster (auth_request to LL::NG's handler).
# Package post-install scripts must not leave system daemons running (slapd would listen on
# ldap:/// on every interface; lemonldap-ng-fastcgi-server on a socket): a policy-rc.d that
# refuses every start is put in place for the install, and the services are then stopped
# and disabled. infra/sso/idp.py runs private instances in its own run directory.
set -euo pipefail

PACKAGES=(
  slapd ldap-utils
  liblemonldap-ng-portal-perl lemonldap-ng-fastcgi-server
  libnet-ldap-perl libunicode-string-perl libio-socket-timeout-perl
  libconvert-base32-perl libcrypt-openssl-bignum-perl libgd-securityimage-perl libimage-magick-perl
  libapache-session-browseable-perl libhttp-parser-xs-perl libcookie-baker-xs-perl
  libstring-random-perl libio-string-perl libdigest-hmac-perl
  starman
  nginx
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "sso: packages already installed"
else
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  POLICY=/usr/sbin/policy-rc.d
  own_policy=0
  if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
    $SUDO chmod 755 "$POLICY"
    own_policy=1
  fi
  trap '[ "$own_policy" = 1 ] && $SUDO rm -f "$POLICY"' EXIT
  export DEBIAN_FRONTEND=noninteractive
  # slapd's debconf: no initial database of its own (idp.py makes a private one).
  echo "slapd slapd/no_configuration boolean true" | $SUDO debconf-set-selections
  $SUDO apt-get update -qq || true
  ${SUDO:+$SUDO -E} apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Leave no system daemon behind (they may have been started by an earlier install).
for svc in slapd lemonldap-ng-fastcgi-server nginx; do
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl disable --now "$svc" >/dev/null 2>&1 || true
  fi
  [ -x "/etc/init.d/$svc" ] && { "/etc/init.d/$svc" stop >/dev/null 2>&1 || true; }
  command -v update-rc.d >/dev/null && { update-rc.d "$svc" disable >/dev/null 2>&1 || true; }
done
echo "sso: slapd $(dpkg-query -W -f='${Version}' slapd), lemonldap-ng $(dpkg-query -W -f='${Version}' liblemonldap-ng-portal-perl), nginx $(dpkg-query -W -f='${Version}' nginx)"
