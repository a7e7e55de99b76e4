"""The Kubernetes manifests: every overlay renders, validates against the Kubernetes API
schemas offline, and meets the security baseline (segmentation, non-root read-only
containers with limits, no secret in the repository)."""

from __future__ import annotations

import ipaddress
import json
import re

import pytest
import yaml
from infra_support import (
    KUBERNETES_VERSION,
    OVERLAYS,
    ZONE_NAMESPACES,
    containers,
    pod_spec,
    run,
    tool,
)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_the_whole_platform(rendered, overlay):
    r = rendered[overlay]
    namespaces = {d["metadata"]["name"] for d in r.of_kind("Namespace")}
    assert namespaces == ZONE_NAMESPACES
    for kind, name in [
        ("StatefulSet", "minio"),
        ("StatefulSet", "postgres"),
        ("StatefulSet", "minio-audit"),
        ("StatefulSet", "alerting-engine"),
        ("Deployment", "stream-consumer"),
        ("Deployment", "kes"),
        ("Deployment", "audit-shipper"),
        ("Deployment", "trino-coordinator"),
        ("Deployment", "trino-worker"),
        ("Deployment", "opendata-portal"),
        ("Job", "lake-setup"),
        ("Job", "audit-setup"),
        ("CronJob", "openmetadata-sync"),
        ("Ingress", "opendata-portal"),
    ]:
        r.get(kind, name)
    for d in r.docs:
        if d["kind"] != "Namespace":
            assert d["metadata"].get("namespace") in ZONE_NAMESPACES, (
                f"{d['kind']}/{d['metadata']['name']} is outside the zone namespaces"
            )


def test_small_uses_mosquitto_and_metropole_uses_emqx(rendered):
    rendered["small"].get("Deployment", "mosquitto")
    with pytest.raises(KeyError):
        rendered["metropole"].get("Deployment", "mosquitto")
    env = rendered["metropole"].get("ConfigMap", "platform-env")["data"]
    assert env["HYPERVISEUR_MQTT_HOST"].startswith("emqx.")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_schemas_validate_offline(rendered_dir, rendered, overlay):
    validate = tool("kubernetes-validate")
    proc = run([validate, "--strict", "-k", KUBERNETES_VERSION, rendered_dir / f"{overlay}.yaml"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout + proc.stderr
    passed = re.findall(r"passed for resource", out)
    unknown = re.findall(r"Couldn't find schema for kind (\w+) with api version (\S+)", out)
    # Only the External Secrets CRD has no upstream schema (checked structurally below).
    assert {k for k, _ in unknown} <= {"ExternalSecret"}, unknown
    core = [d for d in rendered[overlay].docs if d["kind"] != "ExternalSecret"]
    assert len(passed) == len(core), out[-2000:]


def test_schema_validation_catches_a_broken_manifest(tmp_path):
    """Negative control: a misspelt field and a wrong type must be rejected."""
    validate = tool("kubernetes-validate")
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "x", "namespace": "hyperviseur-public"},
                "spec": {
                    "replicas": "two",
                    "selector": {"matchLabels": {"a": "b"}},
                    "template": {
                        "metadata": {"labels": {"a": "b"}},
                        "spec": {"containers": [{"name": "x", "image": "y:1", "resourcez": {}}]},
                    },
                },
            }
        )
    )
    proc = run([validate, "--strict", "-k", KUBERNETES_VERSION, broken])
    assert proc.returncode != 0


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_default_deny_network_policy_in_every_namespace(rendered, overlay):
    r = rendered[overlay]
    policies = r.of_kind("NetworkPolicy")
    for ns in ZONE_NAMESPACES:
        deny = [
            p
            for p in policies
            if p["metadata"]["namespace"] == ns
            and p["spec"]["podSelector"] in ({}, None)
            and {"Ingress", "Egress"} <= set(p["spec"].get("policyTypes", []))
            and not p["spec"].get("ingress")
            and not p["spec"].get("egress")
        ]
        assert deny, f"namespace {ns} has no default-deny (ingress + egress) NetworkPolicy"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_policy_opens_a_zone_to_the_whole_internet(rendered, overlay):
    for p in rendered[overlay].of_kind("NetworkPolicy"):
        for rule in p["spec"].get("ingress", []) + p["spec"].get("egress", []):
            for peer in rule.get("from", []) + rule.get("to", []):
                cidr = peer.get("ipBlock", {}).get("cidr")
                assert not cidr or ipaddress.ip_network(cidr).prefixlen > 0, (
                    f"{p['metadata']['name']}: {cidr} opens everything"
                )
            # every allowed flow names its ports
            assert rule.get("ports"), f"{p['metadata']['name']}: a rule without ports allows everything"


def test_public_zone_reaches_only_the_lake(rendered):
    r = rendered["small"]
    egress_targets = set()
    for p in r.of_kind("NetworkPolicy"):
        if p["metadata"]["namespace"] != "hyperviseur-public":
            continue
        for rule in p["spec"].get("egress", []):
            for peer in rule["to"]:
                ns = peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
                app = peer.get("podSelector", {}).get("matchLabels", {}).get("k8s-app") or peer.get(
                    "podSelector", {}
                ).get("matchLabels", {}).get("app.kubernetes.io/name")
                egress_targets.add((ns, app, tuple(sorted(x["port"] for x in rule["ports"]))))
    assert egress_targets == {("kube-system", "kube-dns", (53, 53)), ("hyperviseur-storage", "minio", (9000,))}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_is_covered_by_a_network_policy_in_its_namespace(rendered, overlay):
    r = rendered[overlay]
    for d in r.docs:
        if pod_spec(d) is None:
            continue
        labels = (
            d["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
            if d["kind"] == "CronJob"
            else d["spec"]["template"]["metadata"]["labels"]
        )
        name = labels.get("app.kubernetes.io/name")
        ns = d["metadata"]["namespace"]
        specific = [
            p
            for p in r.of_kind("NetworkPolicy")
            if p["metadata"]["namespace"] == ns
            and (
                p["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name") == name
                or any(name in e.get("values", []) for e in p["spec"]["podSelector"].get("matchExpressions", []))
                or not p["spec"]["podSelector"]
            )
            and any(p["spec"].get(k) for k in ("ingress", "egress"))
        ]
        assert specific, (
            f"{d['kind']}/{d['metadata']['name']} has no allow rule at all: it cannot work under default deny"
        )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_containers_non_root_read_only_with_limits(rendered, overlay):
    for d in rendered[overlay].docs:
        spec = pod_spec(d)
        if spec is None:
            continue
        where = f"{overlay}: {d['kind']}/{d['metadata']['name']}"
        psc = spec.get("securityContext", {})
        assert psc.get("runAsNonRoot") is True, where
        assert psc.get("runAsUser", 0) >= 1000, where
        assert psc.get("seccompProfile", {}).get("type") == "RuntimeDefault", where
        assert spec.get("automountServiceAccountToken") is False, where
        for forbidden in ("hostNetwork", "hostPID", "hostIPC"):
            assert not spec.get(forbidden), where
        assert not any("hostPath" in v for v in spec.get("volumes", [])), where
        for c in containers(spec):
            csc = c.get("securityContext", {})
            cw = f"{where} container {c['name']}"
            assert csc.get("readOnlyRootFilesystem") is True, cw
            assert csc.get("allowPrivilegeEscalation") is False, cw
            assert csc.get("runAsNonRoot", psc.get("runAsNonRoot")) is True, cw
            assert not csc.get("privileged"), cw
            assert csc.get("capabilities", {}).get("drop") == ["ALL"], cw
            assert not csc.get("capabilities", {}).get("add"), cw
            res = c.get("resources", {})
            for part in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(res.get(part, {})), f"{cw}: {part}"
            image = c["image"]
            tag = image.rsplit("/", 1)[-1].partition(":")[2]
            assert tag and tag != "latest", f"{cw}: image {image} is not pinned"


SECRETISH = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|ACCESS_KEY|PRIVATE_KEY|COOKIE", re.I)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_plaintext_secret_in_rendered_manifests(rendered, overlay):
    r = rendered[overlay]
    assert not r.of_kind("Secret"), "Secrets must come from the secret store (ExternalSecret), not the repository"
    for d in r.docs:
        spec = pod_spec(d)
        for c in containers(spec) if spec else []:
            for e in c.get("env", []):
                if SECRETISH.search(e["name"]) and not e["name"].endswith(("_FILE", "_PATH")):
                    assert "value" not in e, f"{d['metadata']['name']}: {e['name']} has a literal value"
        if d["kind"] == "ConfigMap":
            for key, value in d.get("data", {}).items():
                if SECRETISH.search(key) and not key.endswith(("_FILE", "_PATH")):
                    pytest.fail(f"ConfigMap {d['metadata']['name']} holds {key}")
                for m in re.finditer(
                    r"(?im)^\s*(\w*(?:password|passwd|secret|requirepass))(?:\s*[:=]\s*|\s+)(\S+(?: \S+)?)", value
                ):
                    assert m.group(2).lstrip("'\"").startswith(("${", "{{", "/", "$(cat ")), (
                        f"ConfigMap {d['metadata']['name']}/{key}: {m.group(0).strip()}"
                    )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_referenced_secret_comes_from_the_secret_store(rendered, overlay):
    r = rendered[overlay]
    provided: dict[tuple[str, str], set[str]] = {}
    for es in r.of_kind("ExternalSecret"):
        spec = es["spec"]
        assert spec["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": "territoire-vault"}
        assert spec["data"] and all(x["remoteRef"]["key"].startswith("hyperviseur/") for x in spec["data"])
        template = spec["target"].get("template", {}).get("data")
        keys = set(template) if template else {x["secretKey"] for x in spec["data"]}
        if template:  # every template variable is fetched
            used = set(re.findall(r"\{\{\s*\.(\w+)\s*\}\}", "\n".join(template.values())))
            assert used <= {x["secretKey"] for x in spec["data"]}, es["metadata"]["name"]
        provided[(es["metadata"]["namespace"], spec["target"]["name"])] = keys
    tls_from_cert_manager = {
        (i["metadata"]["namespace"], t["secretName"]) for i in r.of_kind("Ingress") for t in i["spec"].get("tls", [])
    }
    for d in r.docs:
        spec = pod_spec(d)
        if spec is None:
            continue
        ns = d["metadata"]["namespace"]
        refs = []
        for v in spec.get("volumes", []):
            if "secret" in v:
                refs.append((v["secret"]["secretName"], [i["key"] for i in v["secret"].get("items", [])]))
        for c in containers(spec):
            for e in c.get("env", []):
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    refs.append((ref["name"], [ref["key"]]))
            for ef in c.get("envFrom", []):
                if "secretRef" in ef:
                    refs.append((ef["secretRef"]["name"], []))
        for name, keys in refs:
            if (ns, name) in tls_from_cert_manager:
                continue
            assert (ns, name) in provided, f"{d['metadata']['name']} uses Secret {ns}/{name}, which nothing provides"
            assert set(keys) <= provided[(ns, name)], f"{ns}/{name} lacks keys {set(keys) - provided[(ns, name)]}"


def test_minio_erasure_coding_and_kms(rendered):
    small = rendered["small"].get("StatefulSet", "minio")
    big = rendered["metropole"].get("StatefulSet", "minio")

    def env(sts):
        return {e["name"]: e.get("value") for e in sts["spec"]["template"]["spec"]["containers"][0]["env"]}

    assert small["spec"]["replicas"] == 1 and env(small)["MINIO_VOLUMES"] == "/data{0...3}"
    assert len(small["spec"]["volumeClaimTemplates"]) == 4
    n = big["spec"]["replicas"]
    assert n >= 4
    m = re.fullmatch(
        r"http://minio-\{0\.\.\.(\d+)\}\.minio-hl\.hyperviseur-storage\.svc\.cluster\.local:9000/data\{0\.\.\.3\}",
        env(big)["MINIO_VOLUMES"],
    )
    assert m and int(m.group(1)) == n - 1, "the server list must match the replica count"
    for sts in (small, big):
        e = env(sts)
        assert e["MINIO_KMS_KES_ENDPOINT"].startswith("https://")
        assert e["MINIO_KMS_KES_KEY_NAME"]
        assert "MINIO_ROOT_PASSWORD" not in e and e["MINIO_CONFIG_ENV_FILE"].startswith("/run/secrets/")


def test_lake_bucket_policies(rendered):
    cm = rendered["small"].get("ConfigMap", "lake-setup")["data"]
    script = cm["setup.sh"]
    for step in ("mc version enable", "mc encrypt set sse-kms", "mc anonymous set-json", "mc admin policy create"):
        assert step in script
    policy = json.loads(cm["bucket-policy.json"].replace("@BUCKET@", "hyperviseur"))
    public = [s for s in policy["Statement"] if s["Effect"] == "Allow" and s["Principal"] == {"AWS": ["*"]}]
    public_resources = {r for s in public for r in s["Resource"]}
    assert public_resources == {"arn:aws:s3:::hyperviseur/opendata/*", "arn:aws:s3:::hyperviseur"}
    listing = [s for s in public if "s3:ListBucket" in s["Action"]]
    assert listing and listing[0]["Condition"]["StringLike"]["s3:prefix"] == ["opendata/*"]
    deny = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert deny and "s3:DeleteObject" in deny[0]["Action"]
    assert deny[0]["Resource"] == ["arn:aws:s3:::hyperviseur/_meta/audit/*"]
    # The serving zone cannot read raw or quarantined data.
    serving = json.loads(cm["policy-serving.json"])
    readable = {r for s in serving["Statement"] if s["Effect"] == "Allow" for r in s["Resource"]}
    assert not any("/raw/" in r or "/quarantine/" in r for r in readable)

    # Serving by clearance: one read-only user per serving prefix, nothing else readable.
    assert "serving-public serving-masked serving-clear" in script
    for clearance, prefix in CLEARANCE_PREFIXES.items():
        policy = json.loads(cm[f"policy-serving-{clearance}.json"].replace("@BUCKET@", "hyperviseur"))
        allowed = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
        actions = {a for s in allowed for a in s["Action"]}
        assert actions <= {"s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"}, (clearance, actions)
        objects = {r for s in allowed if "s3:GetObject" in s["Action"] for r in s["Resource"]}
        assert objects == {
            f"arn:aws:s3:::hyperviseur/{prefix}/*",
            f"arn:aws:s3:::hyperviseur/_meta/trino/{clearance}/*",
        }, (clearance, objects)
        listing = [s for s in allowed if "s3:ListBucket" in s["Action"]]
        assert listing and set(listing[0]["Condition"]["StringLike"]["s3:prefix"]) == {
            f"{prefix}/*",
            f"_meta/trino/{clearance}/*",
        }
    # governance writes the serving copies from the processing zone
    processing = json.loads(cm["policy-processing.json"].replace("@BUCKET@", "hyperviseur"))
    written = {r for s in processing["Statement"] if "s3:PutObject" in s.get("Action", []) for r in s["Resource"]}
    assert {"arn:aws:s3:::hyperviseur/masked/*", "arn:aws:s3:::hyperviseur/public/*"} <= written


CLEARANCE_PREFIXES = {"public": "public", "masked": "masked", "clear": "curated"}


def _properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))


def _trino_catalogs_for(rules: dict, user: str) -> dict[str, str]:
    """Catalog -> access of one Trino user under file access control (first matching rule wins)."""
    out = {}
    for catalog in ("lake", "public", "masked", "clear", "system"):
        for rule in rules["catalogs"]:
            if re.fullmatch(rule.get("user", ".*"), user) and re.fullmatch(rule.get("catalog", ".*"), catalog):
                if rule["allow"] != "none":
                    out[catalog] = rule["allow"]
                break
    return out


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_trino_serves_one_read_only_catalog_per_clearance(rendered, overlay):
    r = rendered[overlay]
    cm = r.get("ConfigMap", "trino-config", "hyperviseur-serving")["data"]
    keys = set()
    for clearance in CLEARANCE_PREFIXES:
        props = _properties(cm[f"{clearance}.properties"])
        assert props["hive.non-managed-table-writes-enabled"] == "false"
        assert props["hive.metastore.catalog.dir"] == f"s3://hyperviseur/_meta/trino/{clearance}/"
        env = f"SERVING_{clearance.upper()}_ACCESS_KEY"
        assert props["s3.aws-access-key"] == "${ENV:" + env + "}"
        keys.add(props["s3.aws-access-key"])
    assert len(keys) == 3, "each clearance reads with its own MinIO user"
    # the env variables come from the read-only users of lake-setup (vault paths serving-<clearance>)
    secret = next(
        d
        for d in r.of_kind("ExternalSecret")
        if d["metadata"]["name"] == "trino-serving-users" and d["metadata"]["namespace"] == "hyperviseur-serving"
    )
    paths = {d["secretKey"]: d["remoteRef"]["key"] for d in secret["spec"]["data"]}
    for name in ("trino-coordinator", "trino-worker"):
        spec = pod_spec(r.get("Deployment", name))
        (c,) = containers(spec)
        env = {e["name"]: e.get("valueFrom", {}).get("secretKeyRef", {}) for e in c["env"]}
        for clearance in CLEARANCE_PREFIXES:
            ref = env[f"SERVING_{clearance.upper()}_ACCESS_KEY"]
            assert ref["name"] == "trino-serving-users"
            assert paths[ref["key"]] == f"hyperviseur/lake/users/serving-{clearance}"
        mounted = {i["path"] for v in spec["volumes"] if "configMap" in v for i in v["configMap"].get("items", [])}
        assert {f"catalog/{c}.properties" for c in CLEARANCE_PREFIXES} <= mounted


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_trino_authenticates_and_gives_roles_only_their_catalogs(rendered, overlay):
    r = rendered[overlay]
    cm = r.get("ConfigMap", "trino-config", "hyperviseur-serving")["data"]
    coordinator = _properties(cm["coordinator.properties"])
    assert coordinator["http-server.authentication.type"] == "PASSWORD"
    assert coordinator["http-server.https.enabled"] == "true"
    assert coordinator.get("http-server.authentication.allow-insecure-over-http", "false") == "false"
    assert _properties(cm["authenticator.properties"])["password-authenticator.name"] == "file"
    assert _properties(cm["access-control.properties"])["access-control.name"] == "file"
    spec = pod_spec(r.get("Deployment", "trino-coordinator"))
    secrets = {v["secret"]["secretName"] for v in spec["volumes"] if "secret" in v}
    assert {"trino-auth", "trino-tls"} <= secrets
    rules = json.loads(cm["rules.json"])
    expected = {
        "superset-public": {"public": "read-only"},
        "superset-masked": {"public": "read-only", "masked": "read-only"},
        "analyst-dupont": {"public": "read-only", "masked": "read-only"},
        "agent-eau-martin": {"public": "read-only", "masked": "read-only"},
        "superset-clear": {"public": "read-only", "masked": "read-only", "clear": "read-only"},
        "steward-durand": {"public": "read-only", "masked": "read-only", "clear": "read-only"},
        "dbt": {"lake": "all"},
        "inconnu": {},
        "public": {},
    }
    for user, catalogs in expected.items():
        assert _trino_catalogs_for(rules, user) == catalogs, user
    # never the clear catalog (curated/) for a user without clearance
    for user in ("superset-public", "superset-masked", "analyst-x", "agent-x"):
        assert "clear" not in _trino_catalogs_for(rules, user)


def test_audit_store_is_worm_and_separate(rendered):
    r = rendered["small"]
    scripts = r.get("ConfigMap", "audit-scripts", "hyperviseur-audit")["data"]
    assert "mc mb --ignore-existing --with-lock" in scripts["setup.sh"]
    assert "mc retention set --default COMPLIANCE" in scripts["setup.sh"]
    assert "_meta/audit/" in scripts["ship.sh"] and "--remove" not in scripts["ship.sh"]
    sts = r.get("StatefulSet", "minio-audit")
    assert sts["metadata"]["namespace"] == "hyperviseur-audit"
    secrets = {v["secret"]["secretName"] for v in sts["spec"]["template"]["spec"]["volumes"] if "secret" in v}
    assert secrets == {"minio-audit-root"}


def test_public_endpoints_use_tls(rendered):
    for overlay in OVERLAYS:
        for ing in rendered[overlay].of_kind("Ingress"):
            hosts = {rule["host"] for rule in ing["spec"]["rules"]}
            tls_hosts = {h for t in ing["spec"].get("tls", []) for h in t["hosts"]}
            assert hosts and hosts <= tls_hosts, ing["metadata"]["name"]


def test_checkov_finds_nothing_unjustified(rendered_dir):
    checkov = tool("checkov")
    proc = run(
        [checkov, "-d", rendered_dir, "--framework", "kubernetes", "--skip-download", "-o", "json"],
        env={"BC_SKIP_MAPPING": "TRUE", "PATH": "/usr/bin:/bin", "HOME": str(rendered_dir)},
    )
    reports = json.loads(proc.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    (report,) = [x for x in reports if x["check_type"] == "kubernetes"]
    summary = report["summary"]
    failed = [f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in report["results"]["failed_checks"]]
    assert summary["failed"] == 0, "\n".join(failed)
    assert summary["parsing_errors"] == 0
    assert summary["passed"] > 1000
    for c in report["results"]["skipped_checks"]:
        reason = c["check_result"].get("suppress_comment", "")
        assert len(reason) >= 30, f"{c['check_id']} on {c['resource']} skipped without a real justification"
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_checkov_flags_an_insecure_manifest(tmp_path):
    """Negative control: the scan really runs its Kubernetes policies."""
    checkov = tool("checkov")
    (tmp_path / "bad.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "bad", "namespace": "hyperviseur-public"},
                "spec": {
                    "selector": {"matchLabels": {"a": "b"}},
                    "template": {
                        "metadata": {"labels": {"a": "b"}},
                        "spec": {
                            "containers": [
                                {"name": "x", "image": "nginx:latest", "securityContext": {"privileged": True}}
                            ]
                        },
                    },
                },
            }
        )
    )
    proc = run(
        [checkov, "-d", tmp_path, "--framework", "kubernetes", "--skip-download", "-o", "json"],
        env={"BC_SKIP_MAPPING": "TRUE", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    report = json.loads(proc.stdout)
    report = report[0] if isinstance(report, list) else report
    failed = {c["check_id"] for c in report["results"]["failed_checks"]}
    assert {"CKV_K8S_16", "CKV_K8S_14", "CKV_K8S_22"} <= failed, failed
    assert proc.returncode != 0
