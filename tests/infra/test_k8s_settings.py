"""The manifests and the code agree on settings and MQTT topics.

- every ``HYPERVISEUR_*`` variable the rendered overlays set is one the platform reads
  (``lakehouse.settings.KNOWN_VARIABLES``, or the ``_FILE`` form of a known secret);
- secrets reach the processes as ``<NAME>_FILE`` pointing into a mounted Secret volume,
  never as plain values (literal, ``secretKeyRef`` or ``envFrom: secretRef``);
- each container's settings are valid (``Settings.from_env`` accepts them);
- the broker's ACL (Mosquitto in ``small``, EMQX in ``metropole``) grants exactly the topics
  the code subscribes to (``<topic root>/#``) and publishes on (``<topic root>/<stream>/…``).
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

import pytest
from infra_support import OVERLAYS, containers, pod_spec

from lakehouse.settings import PREFIX, SECRET_VARIABLES, MqttSettings, Settings, is_known

# Accounts that consume the sensor topics (alerting engine, lake stream consumer).
CONSUMER_ACCOUNTS = {"alerting-engine", "lake-ingest"}


def _configmaps(r) -> dict[tuple[str, str], dict]:
    return {(d["metadata"]["namespace"], d["metadata"]["name"]): d.get("data", {}) for d in r.of_kind("ConfigMap")}


def _workload_containers(r):
    """(workload name, pod spec, container, env as the process sees it) for every container."""
    maps = _configmaps(r)
    for d in r.docs:
        spec = pod_spec(d)
        if spec is None:
            continue
        ns = d["metadata"]["namespace"]
        for c in containers(spec):
            env: dict[str, str] = {}
            for ef in c.get("envFrom", []):
                if "configMapRef" in ef:
                    env.update(maps.get((ns, ef["configMapRef"]["name"]), {}))
            for e in c.get("env", []):
                env[e["name"]] = e.get("value", "<valueFrom>")
            yield f"{d['kind']}/{d['metadata']['name']}/{c['name']}", spec, c, env


def _hyperviseur_names(r) -> set[str]:
    names = {k for data in _configmaps(r).values() for k in data if k.startswith(PREFIX)}
    for _, _, c, _ in _workload_containers(r):
        names |= {e["name"] for e in c.get("env", []) if e["name"].startswith(PREFIX)}
    return names


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_variable_set_is_read_by_the_platform(rendered, overlay):
    names = _hyperviseur_names(rendered[overlay])
    assert names, "no HYPERVISEUR_* variable found: the rendering changed?"
    unknown = sorted(n for n in names if not is_known(n))
    assert not unknown, f"variables set by the manifests but read by no code (lakehouse/settings.py): {unknown}"


def _secret_mounts(spec: dict, container: dict) -> list[PurePosixPath]:
    secret_volumes = {
        v["name"]
        for v in spec.get("volumes", [])
        if "secret" in v or any("secret" in s for s in v.get("projected", {}).get("sources", []))
    }
    return [PurePosixPath(m["mountPath"]) for m in container.get("volumeMounts", []) if m["name"] in secret_volumes]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_are_files_mounted_from_secrets(rendered, overlay):
    r = rendered[overlay]
    for (ns, name), data in _configmaps(r).items():
        plain = sorted(set(data) & SECRET_VARIABLES)
        assert not plain, f"ConfigMap {ns}/{name} sets secrets as values: {plain} (use <NAME>_FILE)"
    checked = 0
    for where, spec, c, env in _workload_containers(r):
        for e in c.get("env", []):
            if e["name"].startswith(PREFIX):
                assert "valueFrom" not in e, f"{where}: {e['name']} comes from a Secret as a value; mount it as a file"
        for ef in c.get("envFrom", []):
            assert "secretRef" not in ef, f"{where}: envFrom a Secret; mount it and give <NAME>_FILE"
        plain = sorted(set(env) & SECRET_VARIABLES)
        assert not plain, f"{where}: secrets given as plain values: {plain}"
        mounts = _secret_mounts(spec, c)
        for var, value in env.items():
            if var.endswith("_FILE") and var[:-5] in SECRET_VARIABLES:
                path = PurePosixPath(value)
                assert path.is_absolute() and any(m in path.parents for m in mounts), (
                    f"{where}: {var}={value} is not inside a mounted Secret volume ({[str(m) for m in mounts]})"
                )
                checked += 1
    assert checked, "no secret file checked: the rendering changed?"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_container_settings_are_valid(rendered, overlay, tmp_path):
    """What a pod would see at start: secret files replaced by local stand-ins, the rest as rendered."""
    stand_in = tmp_path / "secret"
    stand_in.write_text("valeur-de-test")
    for where, _, _, env in _workload_containers(rendered[overlay]):
        hv = {k: v for k, v in env.items() if k.startswith(PREFIX)}
        if not hv:
            continue
        hv = {k: (str(stand_in) if k.endswith("_FILE") and k[:-5] in SECRET_VARIABLES else v) for k, v in hv.items()}
        try:
            Settings.from_env(hv)
        except Exception as exc:  # reported with the container
            pytest.fail(f"{where}: {exc}")


# -- MQTT topics ------------------------------------------------------------------------------
def _code_streams() -> set[str]:
    """Stream names the code uses: the consumer's domains, the alert engine's kinds, the publisher's topics."""
    from alerting.events import KINDS
    from ingestion.demo.publisher import DOMAINS as PUBLISHED
    from ingestion.stream.mapping import DOMAINS as CONSUMED

    consumed, evaluated, published = set(CONSUMED), set(KINDS), {d for d, _, _ in PUBLISHED.values()}
    assert consumed == evaluated == published, "the consumer, the alert engine and the publisher disagree on streams"
    return consumed


def _topic_root(r) -> str:
    maps = _configmaps(r)
    roots = {
        name: data.get(PREFIX + "MQTT_TOPIC_ROOT") for (_, name), data in maps.items() if PREFIX + "MQTT_HOST" in data
    }
    assert roots and all(roots.values()), f"HYPERVISEUR_MQTT_TOPIC_ROOT missing next to HYPERVISEUR_MQTT_HOST: {roots}"
    assert len(set(roots.values())) == 1, f"different topic roots: {roots}"
    root = next(iter(roots.values()))
    return MqttSettings.from_env({PREFIX + "MQTT_TOPIC_ROOT": root}).topic_root  # valid for the settings


def _mosquitto_acl(text: str) -> dict[str, set[tuple[str, str]]]:
    """user → {(access, topic)}; ``pattern`` lines (any user) under the key ``*``."""
    rules: dict[str, set[tuple[str, str]]] = {}
    user = "*"  # topics before any `user` line apply to anonymous clients
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        words = line.split(None, 2)
        if words[0] == "user":
            user = words[1]
            rules.setdefault(user, set())
        elif words[0] == "topic":
            access, topic = (words[1], words[2]) if len(words) == 3 else ("readwrite", words[1])
            rules.setdefault(user, set()).add((access, topic))
        elif words[0] == "pattern":
            access, topic = (words[1], words[2]) if len(words) == 3 else ("readwrite", words[1])
            rules.setdefault("pattern", set()).add((access, topic))
        else:
            pytest.fail(f"unexpected ACL line: {line}")
    return rules


def _emqx_acl(text: str) -> dict[str, set[tuple[str, str]]]:
    rules: dict[str, set[tuple[str, str]]] = {}
    for m in re.finditer(r"\{allow,\s*(\{username,\s*\"([^\"]+)\"\}|all),\s*(\w+),\s*\[([^\]]*)\]\}", text):
        user = m.group(2) or "*"
        access = {"subscribe": "read", "publish": "write", "all": "readwrite"}[m.group(3)]
        for topic in re.findall(r"\"([^\"]+)\"", m.group(4)):
            rules.setdefault(user, set()).add((access, topic))
    assert re.search(r"\{deny,\s*all\}\.\s*$", text.strip()), "the EMQX ACL must end with {deny, all}."
    return rules


def _check_acl(rules: dict[str, set[tuple[str, str]]], root: str, engine_account: str) -> None:
    streams = _code_streams()
    assert "*" not in rules and "pattern" not in rules, (
        f"rules for any client: {rules.get('*') or rules.get('pattern')}"
    )
    assert engine_account in CONSUMER_ACCOUNTS
    for account in CONSUMER_ACCOUNTS:  # they subscribe to <root>/# (StreamConsumer, MqttRunner), read only
        assert rules.get(account) == {("read", f"{root}/#")}, f"{account}: {rules.get(account)}"
    written: dict[str, str] = {}
    for account, grants in rules.items():
        if account in CONSUMER_ACCOUNTS:
            continue
        for access, topic in grants:
            assert access == "write", f"{account}: {access} {topic} (sensor accounts only publish)"
            m = re.fullmatch(re.escape(root) + r"/([^/#+]+)/#", topic)
            assert m, f"{account}: {topic} is not under {root}/<stream>/#"
            assert m.group(1) in streams, f"{account}: stream « {m.group(1)} » is read by no code ({sorted(streams)})"
            assert m.group(1) not in written, f"stream {m.group(1)} granted to {written.get(m.group(1))} and {account}"
            written[m.group(1)] = account
    assert set(written) == streams, (
        f"streams the code reads that no account may publish: {sorted(streams - set(written))}"
    )


def test_mosquitto_acl_matches_the_topics_of_the_code(rendered):
    r = rendered["small"]
    root = _topic_root(r)
    conf = r.get("ConfigMap", "mosquitto-config", "hyperviseur-ingestion")["data"]
    assert "allow_anonymous false" in conf["mosquitto.conf"]
    engine_env = r.get("ConfigMap", "alerting-engine-env", "hyperviseur-ingestion")["data"]
    _check_acl(_mosquitto_acl(conf["acl"]), root, engine_env[PREFIX + "MQTT_USERNAME"])


def test_emqx_acl_matches_the_topics_of_the_code(rendered):
    r = rendered["metropole"]
    root = _topic_root(r)
    engine_env = r.get("ConfigMap", "alerting-engine-env", "hyperviseur-ingestion")["data"]
    acl = r.get("ConfigMap", "emqx-acl", "hyperviseur-ingestion")["data"]["acl.conf"]
    _check_acl(_emqx_acl(acl), root, engine_env[PREFIX + "MQTT_USERNAME"])


def test_acl_check_catches_a_topic_the_code_does_not_use():
    rules = _mosquitto_acl(
        "user alerting-engine\ntopic read city/#\nuser lake-ingest\ntopic read city/#\n"
        + "".join(f"user f-{s}\ntopic write city/{s}/#\n" for s in _code_streams())
        + "user f-parking\ntopic write city/parking/#\n"
    )
    with pytest.raises(AssertionError, match="parking"):
        _check_acl(rules, "city", "alerting-engine")
