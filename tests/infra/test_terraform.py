"""Assertions over every .tf file, parsed with python-hcl2 8.x.

checkov does not scan resources inside registry modules offline (only CKV_TF_1/2 about
pinning), so the inputs we pass to terraform-aws-modules are asserted here, together with
the properties of our own resources that matter most.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections import defaultdict
from functools import cache
from pathlib import Path

import hcl2
import pytest
import yaml
from hcl2 import SerializationOptions
from infra_helpers import K8S, OVERLAYS, TERRAFORM, runbook_anchors

OPTIONS = SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)
ENV_ROOTS = {env: TERRAFORM / "envs" / env for env in OVERLAYS}
EDGE_ROOTS = {env: TERRAFORM / "envs" / env / "edge" for env in OVERLAYS}
APP_ENV_VARS = {
    "DJANGO_SECRET_KEY",
    "OPENWEATHER_API_KEY",
    "METRICS_TOKEN",
    "DATABASE_URL",
    "REDIS_URL",
    "USAGE_REDIS_URL",
}
ALL_METHODS = {"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"}
EXACT_VERSION = re.compile(r"^\d+\.\d+\.\d+$")


def b(value):
    """A nested block: python-hcl2 gives a list with one dict per block occurrence."""
    if isinstance(value, list):
        assert len(value) == 1, value
        return value[0]
    return value


@cache
def parse(path: Path) -> dict:
    return hcl2.loads(path.read_text(), serialization_options=OPTIONS)


@cache
def load_dir(directory: Path) -> dict[str, list]:
    """All top-level blocks of a Terraform directory: kind -> list of parsed blocks."""
    merged: dict[str, list] = defaultdict(list)
    for path in sorted(directory.glob("*.tf")):
        for kind, blocks in parse(path).items():
            if isinstance(blocks, list):
                merged[kind].extend(blocks)
    return merged


def named(directory: Path, kind: str, type_: str | None = None) -> dict[str, dict]:
    """resource/data: {"<type>.<name>": body}; module/variable/output: {"<name>": body}."""
    out = {}
    for block in load_dir(directory).get(kind, []):
        for key, body in block.items():
            if type_ is None and kind in ("module", "variable", "output", "provider"):
                out[key] = body
            elif key == type_:
                for name, inner in body.items():
                    out[f"{key}.{name}"] = inner
    return out


def single(directory: Path, kind: str, type_: str | None = None) -> dict:
    found = named(directory, kind, type_)
    assert len(found) == 1, f"{directory}: expected one {type_ or kind}, got {list(found)}"
    return next(iter(found.values()))


def tfvars(env: str) -> dict:
    return parse(ENV_ROOTS[env] / "terraform.tfvars")


def edge_tfvars(env: str) -> dict:
    return parse(EDGE_ROOTS[env] / "terraform.tfvars")


def local_values(directory: Path) -> dict:
    merged: dict = {}
    for block in load_dir(directory).get("locals", []):
        merged.update(block)
    return merged


def resolve(directory: Path, value):
    """A value that is exactly "${local.NAME}" becomes that local's expression."""
    m = re.fullmatch(r"\$\{local\.(\w+)\}", value) if isinstance(value, str) else None
    return local_values(directory)[m.group(1)] if m else value


def variable_default(directory: Path, name: str):
    return named(directory, "variable")[name].get("default")


def module_dirs() -> list[Path]:
    return sorted(p for p in (TERRAFORM / "modules").iterdir() if p.is_dir())


def all_tf_dirs() -> list[Path]:
    return [*module_dirs(), *ENV_ROOTS.values(), *EDGE_ROOTS.values()]


MODULES = {p.name: p for p in module_dirs()}


# ---------------------------------------------------------------------------
# Parsing, pinning, backend
# ---------------------------------------------------------------------------


def test_every_tf_file_parses():
    files = sorted(TERRAFORM.rglob("*.tf"))
    assert len(files) >= 20
    for path in files:
        assert isinstance(parse(path), dict), path


@pytest.mark.parametrize("directory", all_tf_dirs(), ids=lambda p: str(p.relative_to(TERRAFORM)))
def test_versions_pinned(directory):
    terraform = load_dir(directory)["terraform"]
    assert any("required_version" in t for t in terraform), directory
    providers = {}
    for t in terraform:
        for block in t.get("required_providers", []) or []:
            providers.update(block)
    assert providers, f"{directory}: no required_providers"
    for name, spec in providers.items():
        assert spec.get("source", "").startswith("hashicorp/"), name
        assert re.match(r"^(~>|=|>=)\s*\d+\.\d+", spec.get("version", "")), f"{name} unpinned"
    for name, module in named(directory, "module").items():
        source = module["source"]
        if source.startswith(("./", "../")):
            assert "version" not in module
        else:
            assert EXACT_VERSION.match(module.get("version", "")), f"module {name} not pinned"


@pytest.mark.parametrize(
    "root", [*ENV_ROOTS.values(), *EDGE_ROOTS.values()], ids=lambda p: str(p.relative_to(TERRAFORM))
)
def test_backend_is_remote_and_locked(root):
    env = next(e for e in OVERLAYS if root in (ENV_ROOTS[e], EDGE_ROOTS[e]))
    backend = None
    for t in load_dir(root)["terraform"]:
        for block in t.get("backend", []) or []:
            backend = block
    assert backend and "s3" in backend, "S3 backend expected"
    s3 = backend["s3"]
    assert s3.get("use_lockfile") is True or s3.get("dynamodb_table"), "no state locking"
    assert s3.get("encrypt") is True
    assert s3["key"].startswith(f"weather/{env}/")
    if root == EDGE_ROOTS[env]:
        # One edge state per environment, apart from every regional state.
        assert s3["key"] == f"weather/{env}/edge/terraform.tfstate"


@pytest.mark.parametrize("env", OVERLAYS)
def test_env_root_takes_a_region(env):
    root = ENV_ROOTS[env]
    assert "region" in named(root, "variable")
    assert tfvars(env)["region"]
    aws = [p["aws"] for p in load_dir(root)["provider"] if "aws" in p]
    assert any(p["region"] == "${var.region}" for p in aws)


# ---------------------------------------------------------------------------
# VPC
# ---------------------------------------------------------------------------


def test_vpc_three_azs_with_database_subnets():
    vpc = named(MODULES["network"], "module")["vpc"]
    assert vpc["source"] == "terraform-aws-modules/vpc/aws"
    for key in ("public_subnets", "private_subnets", "database_subnets"):
        assert "range(3)" in vpc[key], key
    assert vpc["create_database_subnet_group"] is True
    assert vpc["create_database_internet_gateway_route"] is False
    assert vpc["enable_flow_log"] is True
    assert vpc["public_subnet_tags"]["kubernetes.io/role/elb"] == "1"


# ---------------------------------------------------------------------------
# EKS v21, node groups, add-ons
# ---------------------------------------------------------------------------


def eks_module() -> dict:
    return named(MODULES["eks-cluster"], "module")["eks"]


def test_eks_module_v21_inputs():
    eks = eks_module()
    assert eks["source"] == "terraform-aws-modules/eks/aws"
    assert eks["version"].startswith("21.")
    for new in (
        "name",
        "kubernetes_version",
        "addons",
        "endpoint_public_access",
        "endpoint_private_access",
        "eks_managed_node_groups",
        "vpc_id",
        "subnet_ids",
    ):
        assert new in eks, f"v21 input {new} missing"
    for old in (
        "cluster_name",
        "cluster_version",
        "cluster_addons",
        "cluster_endpoint_public_access",
        "cluster_endpoint_private_access",
        "cluster_enabled_log_types",
    ):
        assert old not in eks, f"pre-v21 input {old} used"


def test_eks_node_groups_apps_and_tainted_system():
    groups = eks_module()["eks_managed_node_groups"]
    assert set(groups) == {"apps", "system"}
    assert groups["apps"]["labels"]["workload"] == "apps"
    assert not groups["apps"].get("taints")
    taints = list(groups["system"]["taints"].values())
    assert taints and all(t["effect"] == "NO_SCHEDULE" for t in taints)
    assert groups["system"]["labels"]["workload"] == "system"
    for group in groups.values():
        assert group["metadata_options"]["http_tokens"] == "required"


def test_eks_addons():
    addons = eks_module()["addons"]
    for name in (
        "vpc-cni",
        "coredns",
        "kube-proxy",
        "eks-pod-identity-agent",
        "amazon-cloudwatch-observability",
    ):
        assert name in addons, name
    assert "enableNetworkPolicy" in addons["vpc-cni"]["configuration_values"]


def test_k8s_workloads_land_on_the_apps_group():
    web = yaml.safe_load((K8S / "base" / "deployment-web.yaml").read_text())
    terms = web["spec"]["template"]["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]["nodeSelectorTerms"]
    expr = terms[0]["matchExpressions"][0]
    label = eks_module()["eks_managed_node_groups"]["apps"]["labels"]
    assert label[expr["key"]] in expr["values"]


def test_helm_addons_pinned():
    releases = named(MODULES["cluster-addons"], "resource", "helm_release")
    charts = {body["chart"]: body for body in releases.values()}
    for chart in (
        "aws-load-balancer-controller",
        "secrets-store-csi-driver",
        "secrets-store-csi-driver-provider-aws",
        "keda",
        "external-dns",
    ):
        assert chart in charts, chart
    assert "cluster-autoscaler" in charts or "karpenter" in charts
    for chart, body in charts.items():
        assert EXACT_VERSION.match(body["version"]), f"{chart} chart not pinned"
    csi_values = charts["secrets-store-csi-driver"]["values"][0]
    assert "syncSecret" in csi_values and "true" in csi_values


# ---------------------------------------------------------------------------
# Blue/green clusters sharing one data layer, Route53 weighted + latency
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("env", OVERLAYS)
def test_blue_and_green_clusters_share_the_data_layer(env):
    # The env root composes everything through its one module "stack" (modules/stack).
    stack = (ENV_ROOTS[env] / named(ENV_ROOTS[env], "module")["stack"]["source"]).resolve()
    modules = named(stack, "module")
    for color in ("blue", "green"):
        cluster = modules[f"cluster_{color}"]
        assert (stack / cluster["source"]).resolve() == MODULES["eks-cluster"]
        assert cluster["color"] == color
        addons = modules[f"addons_{color}"]
        assert addons["providers"] == {"helm": f"${{helm.{color}}}"} or addons["providers"] == {
            "helm": f"helm.{color}"
        }
    data = modules["data"]
    allowed = data["allowed_security_group_ids"]
    assert set(allowed) == {"blue", "green"}
    assert "cluster_blue.node_security_group_id" in allowed["blue"]
    assert "cluster_green.node_security_group_id" in allowed["green"]
    identity = modules["app_identity"]
    assert "cluster_blue" in str(identity["cluster_names"])
    assert "cluster_green" in str(identity["cluster_names"])


def test_route53_weighted_and_latency_records():
    records = named(MODULES["dns"], "resource", "aws_route53_record")
    weighted = [r for r in records.values() if "weighted_routing_policy" in r]
    latency = [r for r in records.values() if "latency_routing_policy" in r]
    assert weighted and latency
    assert all(r["set_identifier"] for r in weighted + latency)
    assert b(latency[0]["latency_routing_policy"])["region"] == "${var.region}"
    assert b(weighted[0]["alias"])["evaluate_target_health"] is True
    assert "weighted_routing_policy" in str(b(weighted[0]["lifecycle"])["ignore_changes"])


# ---------------------------------------------------------------------------
# Data layer
# ---------------------------------------------------------------------------


def test_rds_postgres():
    db = single(MODULES["data"], "resource", "aws_db_instance")
    assert db["engine"] == "postgres"
    assert db["publicly_accessible"] is False
    assert db["storage_encrypted"] is True
    assert db["multi_az"] is True
    assert db["manage_master_user_password"] is True
    assert "password" not in db
    assert db["deletion_protection"] is True
    assert db["skip_final_snapshot"] is False
    retention = variable_default(MODULES["data"], "db_backup_retention_days")
    assert db["backup_retention_period"] == "${var.db_backup_retention_days}"
    assert retention >= 7
    for env in OVERLAYS:
        assert tfvars(env)["db_backup_retention_days"] >= 7
    assert "aws_security_group.postgres" in str(db["vpc_security_group_ids"])
    assert db["db_subnet_group_name"] == "${var.database_subnet_group_name}"


@pytest.mark.parametrize("engine", ["postgres", "redis", "memorydb"])
def test_datastore_ingress_only_from_node_security_groups(engine):
    rules = named(MODULES["data"], "resource", "aws_vpc_security_group_ingress_rule")
    rule = rules[f"aws_vpc_security_group_ingress_rule.{engine}"]
    assert rule["referenced_security_group_id"] == "${each.value}"
    assert "cidr_ipv4" not in rule and "cidr_ipv6" not in rule
    assert rule["for_each"] == "${var.allowed_security_group_ids}"
    assert not named(MODULES["data"], "resource", "aws_security_group_rule")
    for sg in named(MODULES["data"], "resource", "aws_security_group").values():
        assert "ingress" not in sg


def test_memorydb_usage_store():
    """The usage stream and the rate/quota counters: durable (transaction log), multi-AZ,
    TLS, KMS at rest, user auth, database subnets, reachable only from the nodes."""
    data = MODULES["data"]
    cluster = single(data, "resource", "aws_memorydb_cluster")
    assert cluster["tls_enabled"] is True
    assert cluster["kms_key_arn"] == "${aws_kms_key.data.arn}"
    assert cluster["security_group_ids"] == ["${aws_security_group.memorydb.id}"]
    assert cluster["subnet_group_name"] == "${aws_memorydb_subnet_group.usage.name}"
    subnets = single(data, "resource", "aws_memorydb_subnet_group")
    # The database subnets: private, no route to the internet (modules/network).
    assert subnets["subnet_ids"] == "${var.database_subnet_ids}"
    assert cluster["port"] == 6379
    # Multi-AZ: at least one replica per shard, everywhere.
    assert cluster["num_replicas_per_shard"] == "${var.memorydb_replicas_per_shard}"
    assert variable_default(data, "memorydb_replicas_per_shard") >= 1
    assert ">= 1" in str(named(data, "variable")["memorydb_replicas_per_shard"]["validation"])
    for env in OVERLAYS:
        assert tfvars(env).get("memorydb_replicas_per_shard", 2) >= 1
        assert tfvars(env)["memorydb_node_type"].startswith("db.")
    # Snapshots kept for at least a week.
    assert cluster["snapshot_retention_limit"] == "${var.memorydb_snapshot_retention_days}"
    assert variable_default(data, "memorydb_snapshot_retention_days") >= 7
    assert cluster["final_snapshot_name"]
    # Only the app's user, with a password: never the open-access ACL or the default user.
    assert cluster["acl_name"] == "${aws_memorydb_acl.usage.name}"
    acl = single(data, "resource", "aws_memorydb_acl")
    assert acl["user_names"] == ["${aws_memorydb_user.usage.user_name}"]
    user = single(data, "resource", "aws_memorydb_user")
    auth = b(user["authentication_mode"])
    assert auth["type"] == "password"
    assert auth["passwords"] == ["${random_password.memorydb_usage.result}"]
    assert user["access_string"].startswith("on ")
    assert "-@dangerous" in user["access_string"]
    # Its own security group: 6379 from the node security groups only.
    rule = named(data, "resource", "aws_vpc_security_group_ingress_rule")[
        "aws_vpc_security_group_ingress_rule.memorydb"
    ]
    assert rule["security_group_id"] == "${aws_security_group.memorydb.id}"
    assert rule["from_port"] == rule["to_port"] == 6379


def test_usage_redis_url_in_the_datastores_secret():
    versions = named(MODULES["app-secrets"], "resource", "aws_secretsmanager_secret_version")
    body = versions["aws_secretsmanager_secret_version.datastores"]["secret_string"]
    url = re.search(r"USAGE_REDIS_URL\s*=\s*\"([^\"]+)\"", body).group(1)
    # TLS, the app's MemoryDB user and password, the MemoryDB endpoint, database 0.
    assert url == (
        "rediss://${var.usage_redis_user}:${var.usage_redis_password}"
        "@${var.usage_redis_endpoint}:6379/0"
    )
    stack = named(MODULES["stack"], "module")["app_secrets"]
    assert stack["usage_redis_endpoint"] == "${module.data.usage_redis_endpoint}"
    assert stack["usage_redis_password"] == "${module.data.usage_redis_password}"
    outputs = named(MODULES["data"], "output")
    assert "aws_memorydb_cluster.usage.cluster_endpoint" in outputs["usage_redis_endpoint"]["value"]
    assert outputs["usage_redis_password"]["sensitive"] is True


def secret_keys() -> dict[str, set[str]]:
    """Secrets Manager name suffix (app, datastores, metrics-token) -> JSON keys Terraform writes."""
    secrets = named(MODULES["app-secrets"], "resource", "aws_secretsmanager_secret")
    versions = named(MODULES["app-secrets"], "resource", "aws_secretsmanager_secret_version")
    keys = {}
    for address, secret in secrets.items():
        version = next(
            v for v in versions.values() if v["secret_id"] == "${" + address + ".id}"
        )
        suffix = secret["name"].rsplit("/", 1)[1]
        keys[suffix] = set(re.findall(r"\b([A-Z][A-Z_]+)\s*=", version["secret_string"]))
    return keys


@pytest.mark.parametrize("env", ("base", *OVERLAYS))
def test_every_secret_file_mounted_is_a_key_terraform_writes(env):
    """The CSI driver fails the whole mount, and every app pod with it, when a jmesPath
    names a key the secret lacks: the SecretProviderClass and Terraform must agree."""
    if env == "base":
        spc = yaml.safe_load((K8S / "base" / "secretproviderclass.yaml").read_text())
        objects_text = spc["spec"]["parameters"]["objects"]
    else:
        objects_text = overlay_patch_value(env, "weather-secrets", "/spec/parameters/objects")
    keys = secret_keys()
    for obj in yaml.safe_load(objects_text):
        suffix = obj["objectName"].rsplit("/", 1)[1]
        paths = {entry["path"] for entry in obj["jmesPath"]}
        assert paths <= keys[suffix], f"{env}: {obj['objectName']} lacks {paths - keys[suffix]}"


def test_queue_metrics_url_is_the_read_only_role():
    versions = named(MODULES["app-secrets"], "resource", "aws_secretsmanager_secret_version")
    body = versions["aws_secretsmanager_secret_version.datastores"]["secret_string"]
    urls = dict(re.findall(r"\b([A-Z][A-Z_]+)\s*=\s*\"([^\"]+)\"", body))
    # Its own role and password, the app's host and database, TLS like the app.
    assert urls["QUEUE_METRICS_DATABASE_URL"] == (
        "postgres://weather_queue_metrics:${random_password.db_queue_metrics_user.result}"
        "@${var.postgres_address}:5432/weather?sslmode=require"
    )
    app_url = urls["DATABASE_URL"]
    assert app_url.split("@", 1)[1] == urls["QUEUE_METRICS_DATABASE_URL"].split("@", 1)[1]
    assert "db_queue_metrics_user" not in app_url
    password = named(MODULES["app-secrets"], "resource", "random_password")[
        "random_password.db_queue_metrics_user"
    ]
    assert password["length"] >= 32 and password["special"] is False  # URL-safe
    # The password reaches the operator who creates the role (docs/deploy.md step 5), as
    # the app role's does, and is sensitive on the way.
    name = "db_queue_metrics_user_password"
    assert named(MODULES["app-secrets"], "output")[name]["sensitive"] is True
    assert named(MODULES["stack"], "output")[name]["value"] == (
        "${module.app_secrets.db_queue_metrics_user_password}"
    )
    for root in ENV_ROOTS.values():
        output = named(root, "output")[name]
        assert output["sensitive"] is True
        assert output["value"] == "${module.stack.db_queue_metrics_user_password}"
    deploy = (K8S.parent / "docs" / "deploy.md").read_text()
    assert "terraform output -raw db_queue_metrics_user_password" in deploy
    assert "CREATE ROLE weather_queue_metrics LOGIN" in deploy


def test_redis_replication_group():
    redis = single(MODULES["data"], "resource", "aws_elasticache_replication_group")
    assert redis["automatic_failover_enabled"] is True
    assert redis["multi_az_enabled"] is True
    assert redis["num_cache_clusters"] >= 2
    assert redis["at_rest_encryption_enabled"] is True
    assert redis["transit_encryption_enabled"] is True
    assert redis["auth_token"].startswith("${random_password.")
    assert redis["kms_key_id"]


# ---------------------------------------------------------------------------
# WAF
# ---------------------------------------------------------------------------


def test_waf_rules_and_logging():
    acl = single(MODULES["waf"], "resource", "aws_wafv2_web_acl")
    assert acl["scope"] == "CLOUDFRONT"
    rules = acl["rule"] if isinstance(acl["rule"], list) else [acl["rule"]]
    managed = {
        b(b(r["statement"])["managed_rule_group_statement"])["name"]
        for r in rules
        if "managed_rule_group_statement" in b(r["statement"])
    }
    assert {
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
    } <= managed
    rate = [r for r in rules if "rate_based_statement" in b(r["statement"])]
    assert rate and b(b(rate[0]["statement"])["rate_based_statement"])["aggregate_key_type"] == "IP"
    assert "block" in b(rate[0]["action"])
    priorities = [r["priority"] for r in rules]
    assert len(priorities) == len(set(priorities))
    # Oversized requests get the WAF's JSON problem before gunicorn's HTML 414/431 page, and
    # before any managed rule group sees them.
    by_name = {r["name"]: r for r in rules}
    for name in ("uri-too-long", "headers-too-large"):
        rule = by_name[name]
        assert rule["priority"] < min(r["priority"] for r in rules if "managed_rule_group_statement" in b(r["statement"]))
        assert name in str(rule["action"])  # answers with its custom JSON body
    bodies = acl["custom_response_body"] if isinstance(acl["custom_response_body"], list) else [acl["custom_response_body"]]
    assert {body["key"] for body in bodies} >= {"uri-too-long", "headers-too-large"}
    assert all(body["content_type"] == "APPLICATION_JSON" for body in bodies)
    logging = single(MODULES["waf"], "resource", "aws_wafv2_web_acl_logging_configuration")
    assert "aws_cloudwatch_log_group.waf" in str(logging["log_destination_configs"])
    group = single(MODULES["waf"], "resource", "aws_cloudwatch_log_group")
    assert group["name"].startswith("aws-waf-logs-")


def test_waf_only_at_cloudfront_scope_attached_to_the_distribution():
    # No association resource anywhere (an ALB association would fight the AWS Load Balancer
    # Controller, and the ALBs take no ACL at all), and no regional ACL.
    for path in TERRAFORM.rglob("*.tf"):
        for block in parse(path).get("resource", []):
            assert "aws_wafv2_web_acl_association" not in block, path
            for acl in block.get("aws_wafv2_web_acl", {}).values():
                assert acl["scope"] == "CLOUDFRONT", path
    # The ACL module is used by the edge only, with the us-east-1 provider a CLOUDFRONT-scope
    # ACL requires, and the distribution carries it.
    callers = [
        (directory, name)
        for directory in module_dirs()
        for name, body in named(directory, "module").items()
        if (directory / body["source"]).resolve() == MODULES["waf"]
    ]
    assert callers == [(MODULES["edge"], "waf")]
    waf = named(MODULES["edge"], "module")["waf"]
    assert waf["providers"] == {"aws": "${aws.us_east_1}"}
    assert distribution()["web_acl_id"] == "${module.waf.web_acl_arn}"
    assert "waf" not in named(MODULES["stack"], "module")


# ---------------------------------------------------------------------------
# Edge: CloudFront in front of the regions
# ---------------------------------------------------------------------------


def distribution() -> dict:
    return single(MODULES["edge"], "resource", "aws_cloudfront_distribution")


def behaviours() -> dict[str, dict]:
    """path pattern ("*" for the default) -> cache behaviour."""
    dist = distribution()
    out = {"*": b(dist["default_cache_behavior"])}
    for behaviour in dist["ordered_cache_behavior"]:
        out[behaviour["path_pattern"]] = behaviour
    return out


def origins() -> dict[str, dict]:
    """origin id -> origin, the dynamic per-region ones included (by their id template)."""
    dist = distribution()
    out = {o["origin_id"]: o for o in dist["origin"]}
    for dyn in dist.get("dynamic", []):
        if "origin" in dyn:
            content = b(dyn["origin"]["content"])
            out[content["origin_id"]] = content
    return out


def cache_policy(reference: str) -> dict:
    edge = MODULES["edge"]
    m = re.fullmatch(r"\$\{(data\.)?(aws_cloudfront_cache_policy)\.(\w+)\.id\}", reference)
    assert m, reference
    kind = "data" if m.group(1) else "resource"
    return named(edge, kind, m.group(2))[f"{m.group(2)}.{m.group(3)}"]


def origin_request_policy(reference: str) -> dict:
    edge = MODULES["edge"]
    m = re.fullmatch(r"\$\{(data\.)?(aws_cloudfront_origin_request_policy)\.(\w+)\.id\}", reference)
    assert m, reference
    kind = "data" if m.group(1) else "resource"
    return named(edge, kind, m.group(2))[f"{m.group(2)}.{m.group(3)}"]


@pytest.mark.parametrize("pattern", ["/v1/*", "/o/*", "*"])
def test_api_paths_are_never_cached_and_forward_everything(pattern):
    edge = MODULES["edge"]
    behaviour = behaviours()[pattern]
    # AWS's managed policies: no caching at all, and every viewer header (Host, Authorization,
    # X-API-Key...), query string and cookie forwarded.
    assert cache_policy(behaviour["cache_policy_id"])["name"] == "Managed-CachingDisabled"
    forwarded = origin_request_policy(behaviour["origin_request_policy_id"])
    assert forwarded["name"] == "Managed-AllViewer"
    assert "forwarded_values" not in behaviour
    assert set(resolve(edge, behaviour["allowed_methods"])) == ALL_METHODS
    # Every method needs an origin that is not an origin group: the latency-routed one.
    assert behaviour["target_origin_id"] == "api"
    assert origins()["api"]["domain_name"] == "${local.origin_name}"
    if pattern != "*":
        assert behaviour["viewer_protocol_policy"] == "https-only"
    else:
        assert behaviour["viewer_protocol_policy"] == "redirect-to-https"


def test_no_error_answer_is_cached():
    # CloudFront would keep error answers 10 s by URL alone, even on the uncached paths.
    dist = distribution()
    dyn = next(d["custom_error_response"] for d in dist["dynamic"] if "custom_error_response" in d)
    codes = set(dyn["for_each"])
    assert {400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504} <= codes
    content = b(dyn["content"])
    assert content["error_caching_min_ttl"] == 0
    assert content["error_code"] == "${custom_error_response.value}"
    assert "response_page_path" not in content


@pytest.mark.parametrize("pattern", ["/static/*", "/api/docs/*"])
def test_static_and_docs_are_cached_through_the_origin_group(pattern):
    behaviour = behaviours()[pattern]
    policy = cache_policy(behaviour["cache_policy_id"])
    assert policy["max_ttl"] > 0 and policy["default_ttl"] > 0
    key = b(policy["parameters_in_cache_key_and_forwarded_to_origin"])
    # Nothing per viewer in the key: one copy for everybody.
    assert b(key["cookies_config"])["cookie_behavior"] == "none"
    assert b(key["query_strings_config"])["query_string_behavior"] == "none"
    # The ALB routes and Django validates by Host, so it still reaches the origin.
    forwarded = origin_request_policy(behaviour["origin_request_policy_id"])
    assert b(b(forwarded["headers_config"])["headers"])["items"] == ["Host"]
    assert b(forwarded["cookies_config"])["cookie_behavior"] == "none"
    # An origin group fails over GET/HEAD/OPTIONS only; CloudFront refuses more methods.
    assert behaviour["target_origin_id"] == "regions"
    assert set(behaviour["allowed_methods"]) <= {"GET", "HEAD", "OPTIONS"}


def test_origin_group_fails_over_between_regions():
    edge = MODULES["edge"]
    group = b(distribution()["origin_group"])
    assert group["origin_id"] == "regions"
    assert {500, 502, 503, 504} <= set(b(group["failover_criteria"])["status_codes"])
    members = [resolve(edge, m["origin_id"]) for m in group["member"]]
    assert len(members) == 2
    assert members[0] == "region-${var.regions[0]}"
    # The second region, or with a single region the latency-routed origin.
    assert members[1] == '${length(var.regions) > 1 ? "region-${var.regions[1]}" : "api"}'
    by_id = origins()
    assert "region-${origin.key}" in by_id and "api" in by_id
    assert local_values(edge)["regional_names"].startswith("${{for r in var.regions")
    regions = named(edge, "variable")["regions"]
    assert "length(var.regions) <= 2" in str(regions["validation"])
    for env in OVERLAYS:
        assert 1 <= len(edge_tfvars(env)["regions"]) <= 2
    assert len(edge_tfvars("production")["regions"]) == 2


def test_origins_https_only_with_the_secret_header():
    edge = MODULES["edge"]
    assert resolve(edge, "${local.origin_header}") == "X-Origin-Verify"
    for origin_id, origin in origins().items():
        config = b(origin["custom_origin_config"])
        assert config["origin_protocol_policy"] == "https-only", origin_id
        assert config["origin_ssl_protocols"] == ["TLSv1.2"], origin_id
        header = b(origin["custom_header"])
        assert resolve(edge, header["name"]) == "X-Origin-Verify"
        assert header["value"] == "${random_password.origin_verify.result}"
    password = named(edge, "resource", "random_password")["random_password.origin_verify"]
    assert password["length"] >= 32 and password["special"] is False
    secret = single(edge, "resource", "aws_secretsmanager_secret")
    assert secret["kms_key_id"] == "${aws_kms_key.secrets.arn}"
    assert secret["name"] == "weather/${var.environment}/origin-verify"
    version = single(edge, "resource", "aws_secretsmanager_secret_version")
    assert "random_password.origin_verify.result" in version["secret_string"]


def test_viewer_tls_and_protocols():
    edge = MODULES["edge"]
    dist = distribution()
    cert = b(dist["viewer_certificate"])
    assert cert["minimum_protocol_version"] == "TLSv1.2_2021"
    assert cert["ssl_support_method"] == "sni-only"
    assert "cloudfront_default_certificate" not in cert
    assert dist["http_version"] == "http2and3"
    assert dist["aliases"] == ["${var.api_host}"]
    # CloudFront takes certificates from us-east-1 only.
    acm = single(edge, "resource", "aws_acm_certificate")
    assert acm["provider"] == "${aws.us_east_1}"
    assert cert["acm_certificate_arn"] == "${aws_acm_certificate_validation.edge.certificate_arn}"
    # The api host points at the distribution (IPv4 and IPv6).
    record = named(edge, "resource", "aws_route53_record")["aws_route53_record.api"]
    assert record["name"] == "${var.api_host}"
    assert record["for_each"] == '${toset(["A", "AAAA"])}'
    assert b(record["alias"])["name"] == "${aws_cloudfront_distribution.this.domain_name}"


def test_edge_logs_and_providers():
    edge = MODULES["edge"]
    delivery = single(edge, "resource", "aws_cloudwatch_log_delivery_source")
    assert delivery["resource_arn"] == "${aws_cloudfront_distribution.this.arn}"
    assert delivery["log_type"] == "ACCESS_LOGS"
    group = single(edge, "resource", "aws_cloudwatch_log_group")
    assert group["kms_key_id"] == "${aws_kms_key.logs.arn}"
    assert group["retention_in_days"] >= 365
    for root in EDGE_ROOTS.values():
        providers = [p["aws"] for p in load_dir(root)["provider"] if "aws" in p]
        assert any(p.get("alias") == "us_east_1" and p["region"] == "us-east-1" for p in providers)
        assert any("alias" not in p and p["region"] == "${var.home_region}" for p in providers)
        edge_call = named(root, "module")["edge"]
        assert (root / edge_call["source"]).resolve() == edge
        # python-hcl2 reads the key "aws.us_east_1" as an expression.
        assert edge_call["providers"]["${aws.us_east_1}"] == "${aws.us_east_1}"


@pytest.mark.parametrize("env", OVERLAYS)
def test_edge_values_match_the_regional_roots(env):
    edge, regional = edge_tfvars(env), tfvars(env)
    assert edge["environment"] == regional["environment"] == env
    assert edge["account_id"] == regional["account_id"]
    assert edge["zone_name"] == regional["zone_name"]
    assert edge["api_host"] == regional["api_host"]
    # The primary region is the committed regional root's.
    assert edge["regions"][0] == regional["region"]
    assert edge["home_region"] == regional["region"]


def test_edge_and_dns_build_the_same_origin_names():
    edge, dns = local_values(MODULES["edge"]), local_values(MODULES["dns"])
    assert edge["origin_name"] == dns["origin_name"] == "origin.${var.api_host}"
    # modules/dns: "<first label of api host>.<region>.<zone>", the weighted records' name.
    assert '${split(".", h)[0]}.${var.region}.${var.zone_name}' in dns["regional_name"]
    assert '${split(".", var.api_host)[0]}.${r}.${var.zone_name}' in edge["regional_names"]


def test_regional_latency_records_are_the_origin_name_not_the_api_host():
    dns = MODULES["dns"]
    latency = named(dns, "resource", "aws_route53_record")["aws_route53_record.latency"]
    assert latency["for_each"] == "${var.alb_lookup_enabled ? local.latency_names : {}}"
    names = local_values(dns)["latency_names"]
    assert "public = local.origin_name" in names and "var.edge_in_service" in names
    assert "api_host" not in names
    assert b(latency["alias"])["evaluate_target_health"] is True


def test_alb_origin_lock_values_come_from_terraform():
    stack = MODULES["stack"]
    prefix = named(stack, "data", "aws_ec2_managed_prefix_list")
    assert list(prefix.values()) == [{"name": "com.amazonaws.global.cloudfront.origin-facing"}]
    values = named(stack, "output")["k8s_overlay_values"]["value"]
    assert values["cloudfront_prefix_id"] == (
        "${data.aws_ec2_managed_prefix_list.cloudfront_origin_facing.id}"
    )
    assert "wafv2_acl_arn" not in values


# ---------------------------------------------------------------------------
# Secrets and pod identity
# ---------------------------------------------------------------------------


def test_app_secrets_with_kms():
    secrets = named(MODULES["app-secrets"], "resource", "aws_secretsmanager_secret")
    assert len(secrets) == 3
    for body in secrets.values():
        assert body["kms_key_id"] == "${aws_kms_key.secrets.arn}"
        assert body["name"].startswith("weather/${var.environment}/")
    versions = named(MODULES["app-secrets"], "resource", "aws_secretsmanager_secret_version")
    keys = set()
    for body in versions.values():
        keys |= set(re.findall(r"\b([A-Z][A-Z_]+)\s*=", body["secret_string"]))
    assert APP_ENV_VARS <= keys
    key = single(MODULES["app-secrets"], "resource", "aws_kms_key")
    assert key["enable_key_rotation"] is True


def test_pod_identity_scoped_to_app_secrets():
    identity = MODULES["app-identity"]
    docs = named(identity, "data", "aws_iam_policy_document")
    app = docs["aws_iam_policy_document.app"]["statement"]
    read = next(s for s in app if "secretsmanager:GetSecretValue" in s["actions"])
    assert read["resources"] == "${values(var.app_secret_arns)}"
    assert "*" not in str(read["resources"]).replace("${", "")
    cw = docs["aws_iam_policy_document.cwagent"]["statement"]
    cw_read = next(s for s in cw if "secretsmanager:GetSecretValue" in s["actions"])
    assert cw_read["resources"] == ["${var.metrics_token_secret_arn}"]
    for statements in (app, cw):
        for s in statements:
            if "kms:Decrypt" in s["actions"]:
                assert b(s["condition"])["variable"] == "kms:ViaService"
    assocs = named(identity, "resource", "aws_eks_pod_identity_association")
    app_assoc = assocs["aws_eks_pod_identity_association.app"]
    sa = yaml.safe_load((K8S / "base" / "serviceaccount.yaml").read_text())
    assert app_assoc["namespace"] == "weather"
    assert app_assoc["service_account"] == sa["metadata"]["name"]
    cw_sa = next(
        d
        for d in yaml.safe_load_all((K8S / "cloudwatch" / "rbac.yaml").read_text())
        if d["kind"] == "ServiceAccount"
    )
    assert (
        assocs["aws_eks_pod_identity_association.cwagent"]["service_account"]
        == cw_sa["metadata"]["name"]
    )


# ---------------------------------------------------------------------------
# Terraform <-> k8s overlay consistency
# ---------------------------------------------------------------------------


def overlay_patch_value(env: str, target_name: str, path: str):
    kustomization = yaml.safe_load((K8S / "overlays" / env / "kustomization.yaml").read_text())
    for patch in kustomization["patches"]:
        if patch["target"].get("name") == target_name:
            for op in yaml.safe_load(patch["patch"]):
                if isinstance(op, dict) and op.get("path") == path:
                    return op["value"]
    raise AssertionError(f"{env}: no patch {target_name} {path}")


@pytest.mark.parametrize("env", OVERLAYS)
def test_overlay_cidrs_match_terraform(env):
    vpc = ipaddress.ip_network(tfvars(env)["vpc_cidr"])
    alb_cidr = overlay_patch_value(
        env, "web-ingress-from-alb", "/spec/ingress/0/from/0/ipBlock/cidr"
    )
    assert ipaddress.ip_network(alb_cidr) == vpc
    db_cidr = ipaddress.ip_network(
        overlay_patch_value(env, "app-egress", "/spec/egress/0/to/0/ipBlock/cidr")
    )
    # modules/network: database subnets are cidrsubnet(vpc, 8, 200..202).
    for i in range(200, 203):
        subnet = list(vpc.subnets(new_prefix=24))[i]
        assert subnet.subnet_of(db_cidr), f"{subnet} not inside {db_cidr}"
    assert db_cidr.subnet_of(vpc)


@pytest.mark.parametrize("env", OVERLAYS)
def test_overlay_hosts_match_terraform(env):
    host = overlay_patch_value(env, "weather-public", "/spec/rules/0/host")
    assert host == tfvars(env)["api_host"]
    ops = overlay_patch_value(env, "weather-internal", "/spec/rules/0/host")
    assert ops == tfvars(env)["ops_host"]
    assert tfvars(env)["environment"] == env


def test_the_alb_checks_the_header_the_edge_sends():
    ingress = yaml.safe_load((K8S / "base" / "ingress-public.yaml").read_text())
    annotations = ingress["metadata"]["annotations"]
    conditions = json.loads(annotations["alb.ingress.kubernetes.io/conditions.weather-web"])
    header = conditions[0]["httpHeaderConfig"]["httpHeaderName"]
    assert header == local_values(MODULES["edge"])["origin_header"]


@pytest.mark.parametrize("env", OVERLAYS)
def test_overlay_alb_admits_only_cloudfront(env):
    prefix = overlay_patch_value(
        env,
        "weather-public",
        "/metadata/annotations/alb.ingress.kubernetes.io~1security-group-prefix-lists",
    )
    assert re.fullmatch(r"pl-[0-9a-f]{8,17}", prefix)
    # CloudFront's origin-facing list in eu-west-1 (aws ec2 describe-managed-prefix-lists).
    assert tfvars(env)["region"] == "eu-west-1" and prefix == "pl-4fa04526"


def test_ecr_tags_immutable():
    repo = single(MODULES["ecr"], "resource", "aws_ecr_repository")
    assert repo["image_tag_mutability"] == "IMMUTABLE"


# ---------------------------------------------------------------------------
# CloudWatch alarms on Container Insights (for when Prometheus is down)
# ---------------------------------------------------------------------------

# Dimension sets the CloudWatch agent publishes for the classic Container Insights metrics,
# enhanced observability on (aws/amazon-cloudwatch-agent,
# translator/translate/otel/exporter/awsemf/kubernetes.go). An alarm's dimensions must be
# one of them exactly, or it watches a metric that does not exist.
_POD_ROLLUPS = {
    frozenset({"ClusterName"}),
    frozenset({"ClusterName", "Namespace"}),
    frozenset({"ClusterName", "Namespace", "PodName"}),
    frozenset({"ClusterName", "Namespace", "PodName", "FullPodName"}),
    frozenset({"ClusterName", "Namespace", "Service"}),
}
_NODE_ROLLUPS = {frozenset({"ClusterName"}), frozenset({"ClusterName", "InstanceId", "NodeName"})}
CONTAINER_INSIGHTS_DIMENSIONS = {
    "pod_cpu_utilization_over_pod_limit": _POD_ROLLUPS,
    "pod_memory_utilization_over_pod_limit": _POD_ROLLUPS,
    "pod_network_rx_bytes": _POD_ROLLUPS,
    "pod_network_tx_bytes": _POD_ROLLUPS,
    "pod_status_failed": _POD_ROLLUPS - {frozenset({"ClusterName", "Namespace"})},
    "node_cpu_utilization": _NODE_ROLLUPS,
    "node_memory_utilization": _NODE_ROLLUPS,
    "node_network_total_bytes": _NODE_ROLLUPS,
    "cluster_failed_node_count": {frozenset({"ClusterName"})},
    "cluster_node_count": {frozenset({"ClusterName"})},
}
RUNBOOK_URL = "https://github.com/example/weatherapi/blob/main/docs/runbook.md"


def alarms() -> dict[str, dict]:
    return named(MODULES["alarms"], "resource", "aws_cloudwatch_metric_alarm")


def prometheus_rules() -> dict[str, list[dict]]:
    doc = yaml.safe_load((K8S / "monitoring" / "prometheusrule.yaml").read_text())
    rules: dict[str, list[dict]] = {}
    for group in doc["spec"]["groups"]:
        for rule in group["rules"]:
            rules.setdefault(rule["alert"], []).append(rule)
    return rules


def runbook_link(description: str) -> str:
    m = re.search(r"Runbook: (\S+)$", description)
    assert m, description
    return m.group(1).replace("${local.runbook}", local_values(MODULES["alarms"])["runbook"])


def test_alarms_for_both_clusters_of_every_stack():
    stack = MODULES["stack"]
    call = named(stack, "module")["alarms"]
    assert (stack / call["source"]).resolve() == MODULES["alarms"]
    assert call["clusters"] == {
        "blue": "${module.cluster_blue.cluster_name}",
        "green": "${module.cluster_green.cluster_name}",
    }
    assert call["name"] == "${local.name}"
    assert call["subscriptions"] == "${var.alarm_subscriptions}"
    assert named(stack, "variable")["alarm_subscriptions"]["nullable"] is False
    assert "module.alarms.topic_arn" in named(stack, "output")["alarm_topic_arn"]["value"]
    for env, root in ENV_ROOTS.items():
        assert named(root, "module")["stack"]["alarm_subscriptions"] == "${var.alarm_subscriptions}"
        assert "module.stack.alarm_topic_arn" in named(root, "output")["alarm_topic_arn"]["value"]
        subscriptions = tfvars(env)["alarm_subscriptions"]
        assert subscriptions and all(
            s["protocol"] == "email" and "@" in s["endpoint"] for s in subscriptions
        )
    # Every alarm set is per cluster colour.
    for name, alarm in alarms().items():
        assert alarm["for_each"] in ("${var.clusters}", "${local.cluster_alarms}"), name
    assert "for color, cluster in var.clusters" in local_values(MODULES["alarms"])["cluster_alarms"]


def test_alarm_topic_is_encrypted_and_takes_only_our_alarms():
    module = MODULES["alarms"]
    topic = single(module, "resource", "aws_sns_topic")
    assert topic["kms_master_key_id"] == "${aws_kms_key.alarms.arn}"
    key = single(module, "resource", "aws_kms_key")
    assert key["enable_key_rotation"] is True
    docs = named(module, "data", "aws_iam_policy_document")
    # CloudWatch needs the customer-managed key to publish to an encrypted topic.
    kms = {s["sid"]: s for s in docs["aws_iam_policy_document.alarms_kms"]["statement"]}
    cloudwatch = kms["CloudWatchAlarms"]
    assert set(cloudwatch["actions"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    assert b(cloudwatch["principals"])["identifiers"] == ["cloudwatch.amazonaws.com"]
    # Only alarms of this account whose names carry the stack's prefix may publish.
    topic_policy = {s["sid"]: s for s in docs["aws_iam_policy_document.alarms_topic"]["statement"]}
    publish = topic_policy["CloudWatchAlarms"]
    assert publish["actions"] == ["SNS:Publish"]
    assert b(publish["principals"])["identifiers"] == ["cloudwatch.amazonaws.com"]
    conditions = {c["variable"]: c for c in publish["condition"]}
    assert conditions["aws:SourceAccount"]["test"] == "StringEquals"
    assert conditions["aws:SourceArn"]["test"] == "ArnLike"
    assert conditions["aws:SourceArn"]["values"][0].endswith(":alarm:${var.name}-*")
    policy = single(module, "resource", "aws_sns_topic_policy")
    assert policy["policy"] == "${data.aws_iam_policy_document.alarms_topic.json}"
    for name, alarm in alarms().items():
        assert alarm["alarm_name"].startswith("${var.name}-${each."), name
        assert alarm["alarm_actions"] == alarm["ok_actions"] == ["${aws_sns_topic.alarms.arn}"], (
            name
        )
        assert alarm["actions_enabled"] is True, name


def test_container_insights_alarms_mirror_the_prometheus_rules():
    module = MODULES["alarms"]
    anchors = runbook_anchors()
    rules = prometheus_rules()
    alarm = alarms()["aws_cloudwatch_metric_alarm.container_insights"]
    assert alarm["namespace"] == "ContainerInsights"
    assert alarm["statistic"] == "Maximum"  # the busiest pod or node of the roll-up
    assert alarm["period"] == 60
    assert alarm["evaluation_periods"] == alarm["datapoints_to_alarm"] == "${each.value.minutes}"
    assert alarm["comparison_operator"] == "GreaterThanThreshold"
    assert alarm["dimensions"] == (
        "${each.value.namespaced ? tomap({ClusterName = each.value.cluster, Namespace = var.namespace})"
        " : tomap({ClusterName = each.value.cluster})}"
    )
    assert variable_default(module, "namespace") == "weather"
    assert alarm["alarm_description"].endswith(
        "Runbook: ${local.runbook}#${lower(each.value.alert)}"
    )
    assert local_values(module)["runbook"] == RUNBOOK_URL
    metric_alarms = local_values(module)["metric_alarms"]
    assert {a["alert"] for a in metric_alarms.values()} >= {
        "WeatherContainerCPUNearLimit",
        "WeatherContainerMemoryNearLimit",
        "WeatherNodeCPUHigh",
        "WeatherNodeMemoryLow",
        "WeatherPodNetworkHigh",
        "WeatherNodeNetworkSaturated",
    }
    names = set()
    for key, a in metric_alarms.items():
        dims = {"ClusterName", "Namespace"} if a["namespaced"] else {"ClusterName"}
        assert frozenset(dims) in CONTAINER_INSIGHTS_DIMENSIONS[a["metric"]], key
        assert a["alert"].lower() in anchors, (
            f"docs/runbook.md has no heading for #{a['alert'].lower()}"
        )
        names.add(a["alert"] + a["suffix"])
        if a["alert"] not in rules:
            continue
        # The Prometheus twins (one per direction where the alarm has a suffix, else all of
        # them): same duration and the same threshold.
        twins = rules[a["alert"]]
        if a["suffix"]:
            twins = [r for r in twins if r["labels"]["direction"] == a["suffix"].lstrip("-")]
        assert twins, key
        for rule in twins:
            assert rule["for"] == f"{a['minutes']}m", key
            m = re.search(r"([<>])\s*([0-9.]+)$", rule["expr"])
            operator, value = m.group(1), float(m.group(2))
            if a["metric"].endswith("_bytes"):
                assert a["threshold"] == value, key
            elif operator == ">":
                assert a["threshold"] == round(value * 100), key
            else:  # memory *available* below x: utilization above 1 - x
                assert a["threshold"] == round((1 - value) * 100), key
    assert len(names) == len(metric_alarms), "two alarms would get one name"


def test_pod_failed_alarm_queries_the_namespace_pods():
    alarm = alarms()["aws_cloudwatch_metric_alarm.pod_failed"]
    query = b(alarm["metric_query"])
    m = re.fullmatch(
        r"SELECT MAX\(pod_status_failed\) FROM SCHEMA\(\"ContainerInsights\", ([\w, ]+)\) "
        r"WHERE ClusterName = '\$\{each.value\}' AND Namespace = '\$\{var.namespace\}'",
        query["expression"],
    )
    assert m, query["expression"]
    schema = frozenset(x.strip() for x in m.group(1).split(","))
    assert schema in CONTAINER_INSIGHTS_DIMENSIONS["pod_status_failed"]
    assert query["period"] == 60 and query["return_data"] is True
    assert alarm["comparison_operator"] == "GreaterThanThreshold" and alarm["threshold"] == 0
    assert alarm["evaluation_periods"] == alarm["datapoints_to_alarm"] == 5
    (rule,) = prometheus_rules()["WeatherPodFailed"]
    assert rule["for"] == "5m"
    assert runbook_link(alarm["alarm_description"]) == f"{RUNBOOK_URL}#weatherpodfailed"
    assert "weatherpodfailed" in runbook_anchors()


def test_silent_container_insights_is_an_alarm():
    alarm = alarms()["aws_cloudwatch_metric_alarm.container_insights_silent"]
    assert alarm["metric_name"] == "cluster_node_count"
    assert alarm["dimensions"] == {"ClusterName": "${each.value}"}
    assert frozenset(alarm["dimensions"]) in CONTAINER_INSIGHTS_DIMENSIONS["cluster_node_count"]
    assert alarm["statistic"] == "SampleCount"
    assert alarm["comparison_operator"] == "LessThanThreshold" and alarm["threshold"] == 1
    assert alarm["treat_missing_data"] == "breaching"
    link = runbook_link(alarm["alarm_description"])
    assert link == f"{RUNBOOK_URL}#weathercontainerinsightssilent"
    assert "weathercontainerinsightssilent" in runbook_anchors()
    # The alarms read the classic Container Insights metrics, which the add-on publishes
    # unless its configuration turns them off.
    addon = eks_module()["addons"]["amazon-cloudwatch-observability"]
    assert "containerInsights" not in str(addon.get("configuration_values", ""))
