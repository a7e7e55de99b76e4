#!/usr/bin/env python3
"""Hyperviseur's identity provider, as code: LemonLDAP::NG (OpenID Connect provider) backed by
an OpenLDAP directory, both private to a run directory and bound to 127.0.0.1 only.

    python infra/sso/idp.py start    [--run-dir DIR] [--port P] [--ldap-port P]
    python infra/sso/idp.py stop     [--run-dir DIR]
    python infra/sso/idp.py status   [--run-dir DIR]
    python infra/sso/idp.py accounts [--run-dir DIR]      # demo accounts, passwords, TOTP secrets

Nothing of the system configuration is used or touched (no /etc/ldap, /etc/lemonldap-ng,
/var/lib/lemonldap-ng): the Debian packages installed by infra/sso/install.sh only provide the
programs and Perl libraries. In DIR:

- secrets generated at first start, kept across restarts, mode 600: ``accounts.json`` (demo
  passwords, TOTP secrets, OIDC client secrets, LDAP manager password), ``oidc-signing.key``
  (RSA key that signs the ID tokens), ``llng-key`` (LL::NG's own cipher key);
- generated at every start from the code below (so a changed port or setting is picked up):
  ``slapd/slapd.conf`` + ``slapd/data`` (re-loaded with slapadd), ``llng/lemonldap-ng.ini``,
  ``llng/conf/lmConf-1.json`` (the LL::NG configuration, "File" backend), ``llng/portal.psgi``;
- runtime: ``slapd.pid``, ``portal.pid``, ``state.json`` (ports, issuer), logs ``*.log``,
  LL::NG sessions (``llng/sessions``, ``llng/psessions`` with the enrolled TOTP devices).

Environment: HYPERVISEUR_SSO_RUN_DIR (default /tmp/hyperviseur-sso), HYPERVISEUR_SSO_PORT
(default 8070), HYPERVISEUR_SSO_LDAP_PORT (default 3890); 0 picks a free port.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # run as a script or loaded by path: infra.sso.processes from the root
    sys.path.insert(0, str(REPO))

from infra.sso.processes import pid_alive, spawn, stop_pid, tail  # noqa: E402

HOST = "127.0.0.1"
SUFFIX = "dc=val-de-lys,dc=fr"
ORG = "Val-de-Lys"
MAIL_DOMAIN = "val-de-lys.fr"
DEFAULT_RUN_DIR = Path(os.environ.get("HYPERVISEUR_SSO_RUN_DIR", "/tmp/hyperviseur-sso"))
DEFAULT_PORT = int(os.environ.get("HYPERVISEUR_SSO_PORT", "8070"))
DEFAULT_LDAP_PORT = int(os.environ.get("HYPERVISEUR_SSO_LDAP_PORT", "3890"))

LLNG_SHARE = Path("/usr/share/lemonldap-ng")
LDAP_SCHEMAS = ("core", "cosine", "inetorgperson", "nis")
LDAP_MODULE_PATH = "/usr/lib/ldap"

# Roles (LDAP groups, ou=groups) and the demo people in them. Agent_<service> is one group
# per municipal service; add a service by adding a group here.
GROUPS = {
    "Agent_eau": "Agents du service de l'eau",
    "Agent_voirie": "Agents du service de la voirie",
    "Analyst": "Analystes (tableaux de bord, requêtes)",
    "Steward": "Référents données (gouvernance, qualité)",
    "Operator": "Opérateurs d'astreinte (incidents)",
    "Admin": "Administrateurs de la plateforme",
}
PEOPLE = [
    # uid, given name, surname, groups
    ("agent.eau", "Camille", "Lefebvre", ["Agent_eau"]),
    ("agent.voirie", "Julien", "Moreau", ["Agent_voirie"]),
    ("analyste", "Sophie", "Bernard", ["Analyst"]),
    ("referent", "Nicolas", "Petit", ["Steward", "Analyst"]),
    ("astreinte", "Claire", "Dubois", ["Operator", "Agent_eau"]),
    ("admin", "Thomas", "Garnier", ["Admin"]),
]
# Groups whose members must present a TOTP second factor at login. (Issue 14 also wants an
# Operator's close/cancel of an incident to require it: see README, "step-up".)
TOTP_GROUPS = ("Steward", "Admin", "Operator")

# OpenID Connect relying parties: client id -> redirect URIs.
CLIENTS = {
    "superset": {
        "name": "Superset",
        # Superset's callback (superset/sign_on.py PROVIDER) on its port
        "redirect_uris": [
            f"http://{HOST}:{os.environ.get('HYPERVISEUR_SUPERSET_PORT', '8088')}/oauth-authorized/hyperviseur"
        ],
    },
    "hyperviseur-proxy": {
        "name": "Hyperviseur (proxy Dagster et page des opérateurs)",
        "redirect_uris": ["http://127.0.0.1:4180/oauth2/callback"],
    },
}
SCOPES = "openid profile email groups"

# The sign-on gateway (infra/sso/gateway.py: nginx + LL::NG's own handler, auth_request) in
# front of the Dagster UI. LL::NG keys its access rules by host name without the port, so the
# portal itself (127.0.0.1:<port>, whose /oauth2/ endpoints LL::NG also checks against these
# rules) and every gateway on 127.0.0.1 share one entry: the gateway names its application in
# the X-Hv-Application header of its authorisation subrequest (always set by nginx, a client
# cannot reach the handler), and the rule is chosen by that name. No name: the portal's own
# pages (accepted, as with no rule at all); an unknown name: refused. Perl, evaluated per request.
GATEWAY_APPLICATIONS = {
    # Dagster: Admin (launches runs) or Steward (read-only webserver); anyone else: 403
    "dagster": "$hGroups->{Admin} or $hGroups->{Steward}",
    # The operators' incident page (orchestration/cli/alerts.py): Operator or Admin; anyone else: 403
    "alerts": "$hGroups->{Operator} or $hGroups->{Admin}",
    # The workspace (workspace/): catalog for Steward, Admin, Analyst and every Agent_<service>;
    # the page itself keeps decisions to Steward/Admin with the second factor (level >= 5)
    "workspace": "$hGroups->{Steward} or $hGroups->{Admin} or $hGroups->{Analyst} or $groups =~ /(?:^|; )Agent_/",
}
GATEWAY_RULES = {
    HOST: {
        "default": "!$ENV{HTTP_X_HV_APPLICATION} or "
        + " or ".join(
            f'($ENV{{HTTP_X_HV_APPLICATION}} eq "{app}" and ({rule}))' for app, rule in GATEWAY_APPLICATIONS.items()
        ),
    },
}
GATEWAY_HEADERS = {
    HOST: {
        "Hv-User": "$uid",
        "Hv-Role": '$hGroups->{Admin} ? "admin" : "steward"',
        # for the operators' page (audit identity, CSRF binding, second factor for close/cancel);
        # the Dagster server block of the gateway does not forward them
        "Hv-Name": "$cn",
        "Hv-Groups": "$groups",
        "Hv-Auth-Level": "$authenticationLevel",
        "Hv-Session-Start": "$_utime",
    },
}


class IdPError(RuntimeError):
    pass


# -- small helpers ---------------------------------------------------------------------------
def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex((HOST, port)) == 0


def _ssha(password: str) -> str:
    salt = os.urandom(8)
    digest = hashlib.sha1(password.encode() + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


class Paths:
    def __init__(self, run_dir: Path):
        self.run = run_dir.resolve()
        self.accounts = self.run / "accounts.json"
        self.signing_key = self.run / "oidc-signing.key"
        self.llng_key = self.run / "llng-key"
        self.state = self.run / "state.json"
        self.slapd = self.run / "slapd"
        self.slapd_conf = self.slapd / "slapd.conf"
        self.slapd_data = self.slapd / "data"
        self.slapd_pid = self.run / "slapd.pid"
        self.slapd_log = self.run / "slapd.log"
        self.llng = self.run / "llng"
        self.llng_ini = self.llng / "lemonldap-ng.ini"
        self.llng_conf = self.llng / "conf"
        self.psgi = self.llng / "portal.psgi"
        self.portal_pid = self.run / "portal.pid"
        self.portal_log = self.run / "portal.log"


# -- secrets (first run) ---------------------------------------------------------------------
def _b32_secret() -> str:
    return base64.b32encode(os.urandom(20)).decode().rstrip("=")


def load_or_create_accounts(p: Paths) -> dict:
    """Passwords, TOTP secrets and client secrets: generated once, then kept (mode 600)."""
    data: dict = {}
    if p.accounts.exists():
        data = json.loads(p.accounts.read_text())
    changed = not data
    data.setdefault("ldap", {})
    if "manager_password" not in data["ldap"]:
        data["ldap"]["manager_password"] = secrets.token_urlsafe(18)
        changed = True
    users = data.setdefault("users", {})
    for uid, given, sn, groups in PEOPLE:
        u = users.setdefault(uid, {})
        if "password" not in u:
            u["password"] = secrets.token_urlsafe(12)
            changed = True
        u.update(
            name=f"{given} {sn}",
            given_name=given,
            family_name=sn,
            email=f"{uid}@{MAIL_DOMAIN}",
            groups=list(groups),
        )
        if any(g in TOTP_GROUPS for g in groups) and "totp_secret" not in u:
            u["totp_secret"] = _b32_secret()
            changed = True
    clients = data.setdefault("clients", {})
    for cid, spec in CLIENTS.items():
        c = clients.setdefault(cid, {})
        if "client_secret" not in c:
            c["client_secret"] = secrets.token_urlsafe(24)
            changed = True
        c.update(client_id=cid, redirect_uris=list(spec["redirect_uris"]))
    if changed or (p.accounts.stat().st_mode & 0o777) != 0o600:
        _write_private(p.accounts, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return data


def load_or_create_keys(p: Paths) -> tuple[str, str, str]:
    """(private PEM, public PEM, key id) of the ID-token signing key; LL::NG's cipher key."""
    if not p.signing_key.exists():
        p.run.mkdir(parents=True, exist_ok=True)
        tmp = p.signing_key.with_suffix(".tmp")
        old = os.umask(0o077)
        try:
            subprocess.run(
                ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(tmp)],
                check=True,
                capture_output=True,
            )
        finally:
            os.umask(old)
        # LL::NG's Crypt::OpenSSL::RSA wants a traditional "BEGIN RSA PRIVATE KEY" PEM.
        out = subprocess.run(
            ["openssl", "rsa", "-in", str(tmp), "-traditional"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        tmp.unlink()
        _write_private(p.signing_key, out)
    if not p.llng_key.exists():
        _write_private(p.llng_key, secrets.token_urlsafe(32) + "\n")
    private = p.signing_key.read_text()
    public = subprocess.run(
        ["openssl", "rsa", "-in", str(p.signing_key), "-pubout"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    kid = hashlib.sha256(public.encode()).hexdigest()[:16]
    return private, public, kid


# -- OpenLDAP ---------------------------------------------------------------------------------
def ldap_ldif(accounts: dict) -> str:
    dc = SUFFIX.split(",")[0].split("=")[1]
    entries = [
        f"dn: {SUFFIX}\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\no: {ORG}\ndc: {dc}\n",
        f"dn: ou=people,{SUFFIX}\nobjectClass: organizationalUnit\nou: people\n",
        f"dn: ou=groups,{SUFFIX}\nobjectClass: organizationalUnit\nou: groups\n",
    ]
    for uid, given, sn, _groups in PEOPLE:
        u = accounts["users"][uid]
        entries.append(
            f"dn: uid={uid},ou=people,{SUFFIX}\nobjectClass: inetOrgPerson\n"
            f"uid: {uid}\ncn: {given} {sn}\ngivenName: {given}\nsn: {sn}\n"
            f"displayName: {given} {sn}\nmail: {u['email']}\n"
            f"userPassword: {_ssha(u['password'])}\n"
        )
    for group, description in GROUPS.items():
        members = [uid for uid, _g, _s, groups in PEOPLE if group in groups]
        lines = [
            f"dn: cn={group},ou=groups,{SUFFIX}",
            "objectClass: groupOfNames",
            f"cn: {group}",
            f"description: {description}",
        ]
        lines += [f"member: uid={m},ou=people,{SUFFIX}" for m in members]
        entries.append("\n".join(lines) + "\n")
    # LDIF is UTF-8 only in base64 form ("attr:: ...") for non-ASCII values.
    out = []
    for entry in entries:
        for line in entry.splitlines():
            attr, _, value = line.partition(": ")
            if not value.isascii():
                line = f"{attr}:: {base64.b64encode(value.encode()).decode()}"
            out.append(line)
        out.append("")
    return "\n".join(out)


def slapd_conf(p: Paths, accounts: dict) -> str:
    schemas = "\n".join(f"include /etc/ldap/schema/{s}.schema" for s in LDAP_SCHEMAS)
    manager = f"cn=manager,{SUFFIX}"
    return f"""# Generated by infra/sso/idp.py: do not edit, regenerated at every start.
{schemas}
pidfile {p.slapd_pid}
argsfile {p.slapd / "slapd.args"}
modulepath {LDAP_MODULE_PATH}
moduleload back_mdb
loglevel stats
disallow bind_anon
require authc

database mdb
maxsize 104857600
suffix "{SUFFIX}"
rootdn "{manager}"
rootpw {_ssha(accounts["ldap"]["manager_password"])}
directory {p.slapd_data}
index objectClass eq
index uid,cn,member eq

access to attrs=userPassword
    by self write
    by anonymous auth
    by * none
access to *
    by self read
    by users read
    by * none
"""


def start_slapd(p: Paths, accounts: dict, port: int) -> None:
    p.slapd.mkdir(parents=True, exist_ok=True)
    p.slapd_conf.write_text(slapd_conf(p, accounts))
    os.chmod(p.slapd_conf, 0o600)  # holds the manager's password hash
    # The directory is demo data derived from accounts.json: rebuilt at every start.
    shutil.rmtree(p.slapd_data, ignore_errors=True)
    p.slapd_data.mkdir(mode=0o700)
    ldif = p.slapd / "demo.ldif"
    _write_private(ldif, ldap_ldif(accounts))
    r = subprocess.run(["slapadd", "-q", "-f", str(p.slapd_conf), "-l", str(ldif)], capture_output=True, text=True)
    if r.returncode:
        raise IdPError(f"slapadd failed:\n{r.stdout}{r.stderr}")
    # -d 0: stay in the foreground (we own the process), log to stderr.
    proc = spawn(
        ["slapd", "-f", str(p.slapd_conf), "-h", f"ldap://{HOST}:{port}/", "-d", "0"], p.slapd_log, p.slapd_pid
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise IdPError(f"slapd exited with {proc.returncode}:\n{tail(p.slapd_log)}")
        if _port_open(port):
            return
        time.sleep(0.1)
    raise IdPError(f"slapd not listening on {port} after 20s:\n{tail(p.slapd_log)}")


# -- LemonLDAP::NG ----------------------------------------------------------------------------
def llng_ini(p: Paths) -> str:
    return f"""; Generated by infra/sso/idp.py: do not edit, regenerated at every start.
[all]
logLevel = notice
logger = Lemonldap::NG::Common::Logger::Std
userLogger = Lemonldap::NG::Common::Logger::Std
checkTime = 1

[configuration]
type = File
dirName = {p.llng_conf}
prettyPrint = 1
localStorage = Cache::FileCache
localStorageOptions = {{ 'namespace' => 'lemonldap-ng-config', 'default_expires_in' => 600, 'directory_umask' => '077', 'cache_root' => '{p.llng / "cache"}', 'cache_depth' => 3 }}

[portal]
staticPrefix = /static
templateDir = {LLNG_SHARE / "portal" / "templates"}
languages = fr, en

[handler]
status = 0
"""


def llng_conf(p: Paths, accounts: dict, port: int, ldap_port: int, keys: tuple[str, str, str]) -> dict:
    issuer = f"http://{HOST}:{port}"
    private, public, kid = keys

    def storage(sub: str) -> dict:
        return {
            "Directory": str(p.llng / sub),
            "LockDirectory": str(p.llng / sub / "lock"),
            "generateModule": "Lemonldap::NG::Common::Apache::Session::Generate::SHA256",
        }

    rp_options, rp_vars, rp_claims = {}, {}, {}
    for cid, spec in CLIENTS.items():
        c = accounts["clients"][cid]
        rp_options[cid] = {
            "oidcRPMetaDataOptionsClientID": cid,
            "oidcRPMetaDataOptionsClientSecret": c["client_secret"],
            "oidcRPMetaDataOptionsDisplayName": spec["name"],
            "oidcRPMetaDataOptionsRedirectUris": " ".join(c["redirect_uris"]),
            "oidcRPMetaDataOptionsPublic": 0,
            "oidcRPMetaDataOptionsBypassConsent": 1,
            "oidcRPMetaDataOptionsIDTokenSignAlg": "RS256",
            "oidcRPMetaDataOptionsIDTokenForceClaims": 1,
            "oidcRPMetaDataOptionsUserIDAttr": "uid",
            "oidcRPMetaDataOptionsRefreshToken": 1,
            "oidcRPMetaDataOptionsAccessTokenExpiration": 3600,
            "oidcRPMetaDataOptionsIDTokenExpiration": 3600,
        }
        # claim -> "session attribute;type;array"
        rp_vars[cid] = {
            "name": "cn",
            "given_name": "givenName",
            "family_name": "sn",
            "preferred_username": "uid",
            "email": "mail",
            "groups": "groups;string;always",
        }
        # scope -> claims it releases (beyond the standard profile/email scopes)
        rp_claims[cid] = {"groups": "groups"}

    totp_rule = "$groups =~ /(?:^|; )(?:" + "|".join(TOTP_GROUPS) + ")(?:;|$)/"
    return {
        "cfgNum": 1,
        "cfgAuthor": "infra/sso/idp.py",
        "cfgAuthorIP": HOST,
        "cfgDate": int(time.time()),
        "cfgLog": "Generated by infra/sso/idp.py",
        "key": p.llng_key.read_text().strip(),
        "portal": f"{issuer}/",
        # cookie domain: the portal's host (a production IdP has its own DNS name here)
        "domain": HOST,
        "cookieName": "llng_hyperviseur",
        "securedCookie": 0,
        "httpOnly": 1,
        "sameSite": "Lax",
        "timeout": 28800,
        # The gateway's handler re-reads the session at every request (no 15 s per-worker
        # memory): a logout or an expiry takes effect at once.
        "handlerInternalCache": 0,
        "whatToTrace": "uid",
        "locationRules": GATEWAY_RULES,
        "exportedHeaders": GATEWAY_HEADERS,
        "applicationList": {},
        "portalDisplayRegister": 0,
        "portalDisplayResetPassword": 0,
        "portalDisplayChangePassword": 0,
        "portalDisplayGeneratePassword": 0,
        "portalCheckLogins": 0,
        "portalMainLogo": "common/logos/logo_llng_400px.png",
        "notification": 0,
        "checkXSS": 1,
        "requireToken": 1,
        "bruteForceProtection": 0,
        "loginHistoryEnabled": 1,
        # sessions (files, in the run directory)
        "globalStorage": "Apache::Session::File",
        "globalStorageOptions": storage("sessions"),
        "persistentStorage": "Apache::Session::File",
        "persistentStorageOptions": storage("psessions"),
        "oidcStorage": "Apache::Session::File",
        "oidcStorageOptions": storage("oidc"),
        "localSessionStorage": "Cache::FileCache",
        "localSessionStorageOptions": {
            "namespace": "lemonldap-ng-sessions",
            "default_expires_in": 600,
            "directory_umask": "077",
            "cache_root": str(p.llng / "cache"),
            "cache_depth": 3,
        },
        # LDAP: authentication, user data and groups
        "authentication": "LDAP",
        "userDB": "Same",
        "passwordDB": "Null",
        "registerDB": "Null",
        "ldapServer": f"ldap://{HOST}:{ldap_port}",
        "ldapBase": f"ou=people,{SUFFIX}",
        "managerDn": f"cn=manager,{SUFFIX}",
        "managerPassword": accounts["ldap"]["manager_password"],
        "ldapTimeout": 10,
        "ldapVersion": 3,
        "AuthLDAPFilter": "(&(uid=$user)(objectClass=inetOrgPerson))",
        "LDAPFilter": "(&(uid=$user)(objectClass=inetOrgPerson))",
        "ldapPpolicyControl": 0,
        "ldapGroupBase": f"ou=groups,{SUFFIX}",
        "ldapGroupObjectClass": "groupOfNames",
        "ldapGroupAttributeName": "member",
        "ldapGroupAttributeNameUser": "dn",
        "ldapGroupAttributeNameSearch": "cn",
        "ldapGroupRecursive": 0,
        "multiValuesSeparator": "; ",
        "exportedVars": {},
        "ldapExportedVars": {
            "uid": "uid",
            "cn": "cn",
            "givenName": "givenName",
            "sn": "sn",
            "mail": "mail",
        },
        # second factor: TOTP, devices enrolled by the demo set-up (see seed_totp)
        "totp2fActivation": totp_rule,
        "totp2fSelfRegistration": 0,
        "totp2fUserCanRemoveKey": 0,
        "totp2fInterval": 30,
        "totp2fRange": 1,
        "totp2fDigits": 6,
        # a session opened with the TOTP gets level 5: ID tokens then carry acr "loa-5"
        # (password only: "loa-2"), which the operators' page can require for close/cancel.
        "totp2fAuthnLevel": 5,
        # not "sfOnlyUpgrade": with it, LL::NG skips the second factor at login for every user
        # (no target level), which TOTP_GROUPS forbid; a step-up (<portal>/upgradesession, the
        # operators' page's link to close an incident) is therefore a new password + TOTP login.
        "totp2fEncryptSecret": 0,
        "sfRequired": 0,
        # OpenID Connect provider
        "issuerDBOpenIDConnectActivation": 1,
        "issuerDBOpenIDConnectPath": "^/oauth2/",
        "issuerDBOpenIDConnectRule": 1,
        "oidcServiceMetaDataIssuer": issuer,
        "oidcServicePrivateKeySig": private,
        "oidcServicePublicKeySig": public,
        "oidcServiceKeyIdSig": kid,
        "oidcServiceAllowAuthorizationCodeFlow": 1,
        "oidcServiceAllowImplicitFlow": 0,
        "oidcServiceAllowHybridFlow": 0,
        "oidcServiceAllowDynamicRegistration": 0,
        "oidcRPMetaDataOptions": rp_options,
        "oidcRPMetaDataExportedVars": rp_vars,
        "oidcRPMetaDataOptionsExtraClaims": rp_claims,
        "oidcRPMetaDataMacros": {},
    }


PSGI = """# Generated by infra/sso/idp.py: the LemonLDAP::NG portal as one PSGI app (no Apache/nginx).
use strict;
use Plack::Builder;
use Plack::App::File;
use Lemonldap::NG::Portal::Main;

my $portal = Lemonldap::NG::Portal::Main->run( {} );
builder {
    mount '/static' => Plack::App::File->new( root => '@SHARE@/portal/htdocs/static' )->to_app;
    mount '/javascript' => Plack::App::File->new( root => '/usr/share/javascript' )->to_app;
    # The portal's administration endpoints are never exposed (as in Debian's nginx conf).
    mount '/' => sub {
        my $env = shift;
        return [ 403, [ 'Content-Type' => 'text/plain' ], ["Forbidden\\n"] ]
          if $env->{PATH_INFO} =~ m#^/(?:adminSessions|proxy|sessions|config|notification)(?:/|$)#;
        return $portal->($env);
    };
};
"""

SEED_2F = r"""# Pre-enrol the demo TOTP devices in LL::NG persistent sessions (what a user's enrolment
# through the portal would store): _2fDevices = [{type => 'TOTP', name, epoch, _secret}].
use strict;
use JSON qw(from_json to_json);
use Lemonldap::NG::Common::Session;
use Lemonldap::NG::Common::Util qw(getPSessionID);

my ( $confFile, $seedFile ) = @ARGV;
local $/;
open my $c, '<', $confFile or die "$confFile: $!";
my $conf = from_json(<$c>);
open my $s, '<', $seedFile or die "$seedFile: $!";
my $seeds = from_json(<$s>);
my $epoch = time;
foreach my $uid ( sort keys %$seeds ) {
    my $ps = Lemonldap::NG::Common::Session->new( {
            storageModule        => $conf->{persistentStorage},
            storageModuleOptions => $conf->{persistentStorageOptions},
            id                   => getPSessionID($uid),
            force                => 1,
            kind                 => 'Persistent',
    } );
    die "session for $uid: " . $ps->error if $ps->error;
    my $devices = eval { from_json( $ps->data->{_2fDevices} || '[]' ) } || [];
    $devices = [ grep { $_->{type} ne 'TOTP' } @$devices ];
    push @$devices, { type => 'TOTP', name => 'demo', epoch => $epoch, _secret => $seeds->{$uid} };
    $ps->update( { _session_uid => $uid, _utime => $ps->data->{_utime} || $epoch,
                   _2fDevices => to_json($devices) } );
    die "update for $uid: " . $ps->error if $ps->error;
    print "TOTP enrolled for $uid\n";
}
"""


def seed_totp(p: Paths, accounts: dict) -> None:
    seeds = {uid: u["totp_secret"] for uid, u in accounts["users"].items() if u.get("totp_secret")}
    seed_file = p.llng / "totp-seed.json"
    _write_private(seed_file, json.dumps(seeds))
    script = p.llng / "seed-2f.pl"
    script.write_text(SEED_2F)
    try:
        r = subprocess.run(
            ["perl", str(script), str(p.llng_conf / "lmConf-1.json"), str(seed_file)], capture_output=True, text=True
        )
    finally:
        seed_file.unlink(missing_ok=True)
    if r.returncode:
        raise IdPError(f"TOTP enrolment failed:\n{r.stdout}{r.stderr}")


def start_portal(p: Paths, port: int) -> None:
    p.psgi.write_text(PSGI.replace("@SHARE@", str(LLNG_SHARE)))
    env = dict(os.environ, LLNG_DEFAULTCONFFILE=str(p.llng_ini), PLACK_ENV="deployment")
    proc = spawn(
        ["starman", "--listen", f"{HOST}:{port}", "--workers", "2", "--preload-app", str(p.psgi)],
        p.portal_log,
        p.portal_pid,
        env=env,
        cwd=p.llng,
    )
    url = f"http://{HOST}:{port}/.well-known/openid-configuration"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise IdPError(f"portal exited with {proc.returncode}:\n{tail(p.portal_log)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200 and json.load(r).get("issuer"):
                    return
        except urllib.error.HTTPError as e:
            if e.code == 500:  # LL::NG's "Initialization failed" is permanent: fail fast
                stop_pid(p.portal_pid)
                raise IdPError(f"portal answers 500 (initialisation failed):\n{tail(p.portal_log)}") from None
        except (urllib.error.URLError, OSError, ValueError):
            pass
        time.sleep(0.2)
    raise IdPError(f"portal not answering {url} after 60s:\n{tail(p.portal_log)}")


# -- commands ---------------------------------------------------------------------------------
def stop(run_dir: Path) -> None:
    p = Paths(run_dir)
    portal = stop_pid(p.portal_pid)
    slapd = stop_pid(p.slapd_pid)
    print(f"sso: portal {'stopped' if portal else 'not running'}, slapd {'stopped' if slapd else 'not running'}")


def status(run_dir: Path) -> dict:
    p = Paths(run_dir)
    state = json.loads(p.state.read_text()) if p.state.exists() else {}
    state["slapd_running"] = pid_alive(p.slapd_pid) is not None
    state["portal_running"] = pid_alive(p.portal_pid) is not None
    return state


def start(run_dir: Path, port: int = DEFAULT_PORT, ldap_port: int = DEFAULT_LDAP_PORT) -> dict:
    for tool in ("slapd", "slapadd", "starman", "perl", "openssl"):
        if not shutil.which(tool) and not Path("/usr/sbin", tool).exists():
            raise IdPError(f"{tool} not found: run infra/sso/install.sh first")
    os.environ["PATH"] = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
    p = Paths(run_dir)
    p.run.mkdir(parents=True, exist_ok=True)
    os.chmod(p.run, 0o700)
    current = status(run_dir)
    if current.get("portal_running") and current.get("slapd_running"):
        print(f"sso: already running, issuer {current.get('issuer')}")
        return current
    stop(run_dir)
    t0 = time.monotonic()
    port = port or _free_port()
    ldap_port = ldap_port or _free_port()
    for what, prt in (("portal", port), ("LDAP", ldap_port)):
        if _port_open(prt):
            raise IdPError(f"{what} port {prt} already in use on {HOST}")
    accounts = load_or_create_accounts(p)
    keys = load_or_create_keys(p)
    try:
        start_slapd(p, accounts, ldap_port)
        # LL::NG configuration, as code
        p.llng_conf.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(p.llng / "cache", ignore_errors=True)
        for sub in ("sessions", "psessions", "oidc"):
            (p.llng / sub / "lock").mkdir(parents=True, exist_ok=True)
        _write_private(p.llng_ini, llng_ini(p))
        conf = llng_conf(p, accounts, port, ldap_port, keys)
        for old in p.llng_conf.glob("lmConf-*.json"):
            old.unlink()
        _write_private(p.llng_conf / "lmConf-1.json", json.dumps(conf, indent=1) + "\n")
        seed_totp(p, accounts)
        start_portal(p, port)
    except BaseException:
        stop(run_dir)
        raise
    issuer = f"http://{HOST}:{port}"
    state = {
        "issuer": issuer,
        "discovery": f"{issuer}/.well-known/openid-configuration",
        "port": port,
        "ldap_url": f"ldap://{HOST}:{ldap_port}",
        "ldap_port": ldap_port,
        "ldap_base": SUFFIX,
        "accounts": str(p.accounts),
        "run_dir": str(p.run),
    }
    p.state.write_text(json.dumps(state, indent=2) + "\n")
    print(
        f"sso: issuer {issuer} (LDAP {state['ldap_url']}) ready in "
        f"{time.monotonic() - t0:.1f}s; accounts in {p.accounts}"
    )
    return state


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=["start", "stop", "status", "accounts"])
    ap.add_argument("--run-dir", type=Path, default=DEFAULT_RUN_DIR)
    ap.add_argument("--port", type=int, default=DEFAULT_PORT, help="portal/OIDC port (0: free)")
    ap.add_argument("--ldap-port", type=int, default=DEFAULT_LDAP_PORT, help="slapd port (0: free)")
    args = ap.parse_args(argv)
    try:
        if args.command == "start":
            start(args.run_dir, args.port, args.ldap_port)
        elif args.command == "stop":
            stop(args.run_dir)
        elif args.command == "status":
            st = status(args.run_dir)
            print(json.dumps(st, indent=2))
            return 0 if st["slapd_running"] and st["portal_running"] else 3
        else:
            p = Paths(args.run_dir)
            if not p.accounts.exists():
                print(f"no accounts yet in {p.run}: run start first", file=sys.stderr)
                return 1
            print(p.accounts.read_text(), end="")
    except IdPError as e:
        print(f"sso: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
