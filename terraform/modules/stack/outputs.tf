output "cluster_names" {
  description = "EKS clusters by colour."
  value       = local.clusters
}

output "k8s_overlay_values" {
  description = "Values the k8s overlay of this environment must carry."
  value = {
    image                = module.ecr.repository_url
    certificate_arn      = module.dns.certificate_arn
    cloudfront_prefix_id = data.aws_ec2_managed_prefix_list.cloudfront_origin_facing.id
    vpc_cidr             = module.network.vpc_cidr
    database_cidrs       = module.network.database_subnets_cidr_blocks
    secret_names         = module.app_secrets.secret_names
    region               = var.region
    api_host             = var.api_host
    ops_host             = var.ops_host
    cluster_health_hosts = module.dns.cluster_health_hosts
    regional_names       = module.dns.regional_names
    origin_name          = module.dns.origin_name
  }
}

output "postgres_master_user_secret_arn" {
  description = "RDS-managed master password (for creating the app role, docs/deploy.md)."
  value       = module.data.postgres_master_user_secret_arn
}

output "hosted_zone_id" {
  description = "Route53 zone id (scripts/bluegreen_switch.py --zone-id)."
  value       = data.aws_route53_zone.public.zone_id
}

output "db_app_user_password" {
  description = "Password of the weather_app PostgreSQL role, created once by hand (docs/deploy.md step 5)."
  value       = module.app_secrets.db_app_user_password
  sensitive   = true
}

output "db_queue_metrics_user_password" {
  description = "Password of the read-only weather_queue_metrics PostgreSQL role (KEDA's queue-depth query), created once by hand (docs/deploy.md step 5)."
  value       = module.app_secrets.db_queue_metrics_user_password
  sensitive   = true
}

output "tags" {
  description = "Tags of every resource of the stack (also the aws provider's default_tags in the env roots)."
  value       = local.tags
}

output "cluster_connections" {
  description = "Per colour: name, API endpoint and CA of the EKS cluster, for the env root's helm.<color> provider."
  value = {
    blue = {
      name                       = module.cluster_blue.cluster_name
      endpoint                   = module.cluster_blue.cluster_endpoint
      certificate_authority_data = module.cluster_blue.cluster_certificate_authority_data
    }
    green = {
      name                       = module.cluster_green.cluster_name
      endpoint                   = module.cluster_green.cluster_endpoint
      certificate_authority_data = module.cluster_green.cluster_certificate_authority_data
    }
  }
}

output "alarm_topic_arn" {
  description = "SNS topic of the CloudWatch alarms (docs/runbook.md); subscribe on-call tools to it."
  value       = module.alarms.topic_arn
}
