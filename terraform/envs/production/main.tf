# Environment root: one environment in one region. Everything is composed in
# modules/stack (network, blue/green EKS, data layer, secrets, ECR, DNS); this root
# holds only the state backend, the providers, the values (terraform.tfvars) and outputs.
# Multi-region: apply this root once per region (var.region, its own state key). The edge
# in front of all regions (CloudFront + WAF) is the root in ./edge, applied once.

module "stack" {
  source = "../../modules/stack"
  providers = {
    aws        = aws
    random     = random
    helm.blue  = helm.blue
    helm.green = helm.green
  }

  environment                  = var.environment
  region                       = var.region
  vpc_cidr                     = var.vpc_cidr
  az_ids                       = var.az_ids
  single_nat_gateway           = var.single_nat_gateway
  kubernetes_versions          = var.kubernetes_versions
  endpoint_public_access       = var.endpoint_public_access
  endpoint_public_access_cidrs = var.endpoint_public_access_cidrs
  access_entries               = var.access_entries
  apps_instance_types          = var.apps_instance_types
  apps_min_size                = var.apps_min_size
  apps_max_size                = var.apps_max_size
  db_instance_class            = var.db_instance_class
  db_backup_retention_days     = var.db_backup_retention_days
  redis_node_type              = var.redis_node_type
  memorydb_node_type           = var.memorydb_node_type
  memorydb_replicas_per_shard  = var.memorydb_replicas_per_shard
  zone_name                    = var.zone_name
  api_host                     = var.api_host
  ops_host                     = var.ops_host
  initial_weights              = var.initial_weights
  alb_lookup_enabled           = var.alb_lookup_enabled
  edge_in_service              = var.edge_in_service
  alarm_subscriptions          = var.alarm_subscriptions
}
