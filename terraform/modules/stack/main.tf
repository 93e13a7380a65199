# One environment in one region; called by the thin roots under terraform/envs/<env>
# (backend, providers, terraform.tfvars).
#   network (VPC, 3 AZs) -> two EKS clusters (blue, green) sharing one data layer
#   (RDS PostgreSQL, ElastiCache Redis, MemoryDB usage store) -> secrets + pod identity
#   -> ECR, DNS -> CloudWatch alarms of both clusters.
# Blue/green: both clusters run the same k8s overlay; Route53 weighted records decide
# which one serves (scripts/bluegreen_switch.py). Multi-region: apply the env root once per
# region (var.region, its own state key); the latency records join them. The edge in front
# of every region (CloudFront, its WAF web ACL) is one per environment, applied from
# terraform/envs/<env>/edge (modules/edge).
# Providers are configured by the caller: the default aws one, and helm.blue / helm.green
# (one per cluster, built from output.cluster_connections).

locals {
  name = "weather-${var.environment}"
  tags = {
    Project     = "weatherapi"
    Environment = var.environment
    ManagedBy   = "terraform"
    Repository  = "weatherapi/terraform/envs/${var.environment}"
  }
  clusters = {
    blue  = "${local.name}-blue"
    green = "${local.name}-green"
  }
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

data "aws_route53_zone" "public" {
  name         = var.zone_name
  private_zone = false
}

################################################################################
# KMS key for CloudWatch log groups (VPC flow logs, EKS control plane)
################################################################################

data "aws_iam_policy_document" "logs_kms" {
  #checkov:skip=CKV_AWS_109:Key policy: "*" is this key only; the account-root statement is the AWS default that lets IAM policies grant use of the key
  #checkov:skip=CKV_AWS_111:Key policy: "*" is this key only; the account-root statement is the AWS default that lets IAM policies grant use of the key
  #checkov:skip=CKV_AWS_356:Key policy: "*" is this key only (key policies cannot name the key's own ARN)
  statement {
    sid       = "AccountAdministration"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
  statement {
    sid       = "CloudWatchLogs"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${var.region}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${data.aws_partition.current.partition}:logs:${var.region}:${data.aws_caller_identity.current.account_id}:*"]
    }
  }
}

resource "aws_kms_key" "logs" {
  description             = "${local.name}: CloudWatch Logs"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.logs_kms.json
}

resource "aws_kms_alias" "logs" {
  name          = "alias/${local.name}-logs"
  target_key_id = aws_kms_key.logs.key_id
}

################################################################################
# Network
################################################################################

module "network" {
  source = "../network"

  name               = local.name
  cidr               = var.vpc_cidr
  az_ids             = var.az_ids
  single_nat_gateway = var.single_nat_gateway
  logs_kms_key_arn   = aws_kms_key.logs.arn
  tags               = local.tags
}

################################################################################
# EKS: blue and green
################################################################################

module "cluster_blue" {
  source = "../eks-cluster"

  name                         = local.clusters.blue
  color                        = "blue"
  kubernetes_version           = var.kubernetes_versions.blue
  vpc_id                       = module.network.vpc_id
  private_subnet_ids           = module.network.private_subnet_ids
  endpoint_public_access       = var.endpoint_public_access
  endpoint_public_access_cidrs = var.endpoint_public_access_cidrs
  access_entries               = var.access_entries
  apps_instance_types          = var.apps_instance_types
  apps_min_size                = var.apps_min_size
  apps_max_size                = var.apps_max_size
  logs_kms_key_arn             = aws_kms_key.logs.arn
  tags                         = local.tags
}

module "cluster_green" {
  source = "../eks-cluster"

  name                         = local.clusters.green
  color                        = "green"
  kubernetes_version           = var.kubernetes_versions.green
  vpc_id                       = module.network.vpc_id
  private_subnet_ids           = module.network.private_subnet_ids
  endpoint_public_access       = var.endpoint_public_access
  endpoint_public_access_cidrs = var.endpoint_public_access_cidrs
  access_entries               = var.access_entries
  apps_instance_types          = var.apps_instance_types
  apps_min_size                = var.apps_min_size
  apps_max_size                = var.apps_max_size
  logs_kms_key_arn             = aws_kms_key.logs.arn
  tags                         = local.tags
}

module "addons_blue" {
  source    = "../cluster-addons"
  providers = { helm = helm.blue }

  cluster_name    = module.cluster_blue.cluster_name
  color           = "blue"
  region          = var.region
  vpc_id          = module.network.vpc_id
  zone_name       = var.zone_name
  hosted_zone_arn = data.aws_route53_zone.public.arn
  tags            = local.tags
}

module "addons_green" {
  source    = "../cluster-addons"
  providers = { helm = helm.green }

  cluster_name    = module.cluster_green.cluster_name
  color           = "green"
  region          = var.region
  vpc_id          = module.network.vpc_id
  zone_name       = var.zone_name
  hosted_zone_arn = data.aws_route53_zone.public.arn
  tags            = local.tags
}

################################################################################
# Data layer shared by both clusters
################################################################################

module "data" {
  source = "../data"

  name                       = local.name
  vpc_id                     = module.network.vpc_id
  database_subnet_group_name = module.network.database_subnet_group_name
  database_subnet_ids        = module.network.database_subnet_ids
  allowed_security_group_ids = {
    blue  = module.cluster_blue.node_security_group_id
    green = module.cluster_green.node_security_group_id
  }
  db_instance_class        = var.db_instance_class
  db_backup_retention_days    = var.db_backup_retention_days
  redis_node_type             = var.redis_node_type
  memorydb_node_type          = var.memorydb_node_type
  memorydb_replicas_per_shard = var.memorydb_replicas_per_shard
  tags                        = local.tags
}

################################################################################
# Secrets and pod identity
################################################################################

module "app_secrets" {
  source = "../app-secrets"

  name                   = local.name
  environment            = var.environment
  postgres_address       = module.data.postgres_address
  redis_primary_endpoint = module.data.redis_primary_endpoint
  redis_auth_token       = module.data.redis_auth_token
  usage_redis_endpoint   = module.data.usage_redis_endpoint
  usage_redis_user       = module.data.usage_redis_user
  usage_redis_password   = module.data.usage_redis_password
  tags                   = local.tags
}

module "app_identity" {
  source = "../app-identity"

  name                     = local.name
  cluster_names            = [module.cluster_blue.cluster_name, module.cluster_green.cluster_name]
  app_secret_arns          = module.app_secrets.secret_arns
  metrics_token_secret_arn = module.app_secrets.secret_arns.metrics_token
  secrets_kms_key_arn      = module.app_secrets.kms_key_arn
  tags                     = local.tags
}

################################################################################
# Origin side of the edge, image registry, DNS + TLS
################################################################################

# The public ALBs accept only CloudFront's origin-facing addresses (this managed prefix
# list, through the Ingress annotation alb.ingress.kubernetes.io/security-group-prefix-lists)
# carrying the secret origin header (modules/edge). The WAF web ACL is at CloudFront scope
# (modules/edge); there is no regional one: behind CloudFront the ALB sees CloudFront's
# addresses, so its per-IP rules would throttle whole edge locations, and every request it
# accepts has already passed the CloudFront ACL.
data "aws_ec2_managed_prefix_list" "cloudfront_origin_facing" {
  name = "com.amazonaws.global.cloudfront.origin-facing"
}

module "ecr" {
  source = "../ecr"

  name = "weatherapi"
  tags = local.tags
}

module "dns" {
  source = "../dns"

  zone_id            = data.aws_route53_zone.public.zone_id
  zone_name          = var.zone_name
  api_host           = var.api_host
  ops_host           = var.ops_host
  region             = var.region
  clusters           = local.clusters
  initial_weights    = var.initial_weights
  alb_lookup_enabled = var.alb_lookup_enabled
  edge_in_service    = var.edge_in_service
  tags               = local.tags
}

################################################################################
# CloudWatch alarms (Container Insights) of both clusters, for when Prometheus is down
################################################################################

module "alarms" {
  source = "../alarms"

  name = local.name
  clusters = {
    blue  = module.cluster_blue.cluster_name
    green = module.cluster_green.cluster_name
  }
  subscriptions = var.alarm_subscriptions
  tags          = local.tags
}
