output "postgres_endpoint" {
  description = "host:port of the RDS instance."
  value       = aws_db_instance.postgres.endpoint
}

output "postgres_address" {
  description = "Host name of the RDS instance."
  value       = aws_db_instance.postgres.address
}

output "postgres_master_user_secret_arn" {
  description = "Secrets Manager ARN of the RDS-managed master password (operators only)."
  value       = aws_db_instance.postgres.master_user_secret[0].secret_arn
}

output "redis_primary_endpoint" {
  description = "Primary endpoint of the Redis replication group (TLS)."
  value       = aws_elasticache_replication_group.redis.primary_endpoint_address
}

output "redis_auth_token" {
  description = "Redis AUTH token (goes into the datastores secret)."
  value       = random_password.redis_auth.result
  sensitive   = true
}

output "kms_key_arn" {
  description = "KMS key of the data layer."
  value       = aws_kms_key.data.arn
}

output "usage_redis_endpoint" {
  description = "Cluster endpoint of the MemoryDB usage store (TLS)."
  value       = aws_memorydb_cluster.usage.cluster_endpoint[0].address
}

output "usage_redis_user" {
  description = "MemoryDB user of the app."
  value       = aws_memorydb_user.usage.user_name
}

output "usage_redis_password" {
  description = "Password of that MemoryDB user (goes into the datastores secret)."
  value       = random_password.memorydb_usage.result
  sensitive   = true
}
