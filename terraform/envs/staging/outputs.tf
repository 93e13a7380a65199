# Forwarded from modules/stack (docs/deploy.md, scripts/bluegreen_switch.py use them).

output "cluster_names" {
  description = "EKS clusters by colour."
  value       = module.stack.cluster_names
}

output "k8s_overlay_values" {
  description = "Values the k8s overlay of this environment must carry."
  value       = module.stack.k8s_overlay_values
}

output "postgres_master_user_secret_arn" {
  description = "RDS-managed master password (for creating the app role, docs/deploy.md)."
  value       = module.stack.postgres_master_user_secret_arn
}

output "hosted_zone_id" {
  description = "Route53 zone id (scripts/bluegreen_switch.py --zone-id)."
  value       = module.stack.hosted_zone_id
}

output "db_app_user_password" {
  description = "Password of the weather_app PostgreSQL role, created once by hand (docs/deploy.md step 5)."
  value       = module.stack.db_app_user_password
  sensitive   = true
}

output "db_queue_metrics_user_password" {
  description = "Password of the read-only weather_queue_metrics PostgreSQL role (KEDA's queue-depth query), created once by hand (docs/deploy.md step 5)."
  value       = module.stack.db_queue_metrics_user_password
  sensitive   = true
}

output "alarm_topic_arn" {
  description = "SNS topic of the CloudWatch alarms (docs/runbook.md); subscribe on-call tools to it."
  value       = module.stack.alarm_topic_arn
}
