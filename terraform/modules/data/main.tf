# Data layer of one environment in one region, shared by the blue and green clusters:
# RDS PostgreSQL (multi-AZ), ElastiCache Redis (replication group, multi-AZ: the cache,
# REDIS_URL) and MemoryDB for Redis (multi-AZ with a transaction log: the usage stream and
# the rate/quota counters, USAGE_REDIS_URL), all in the database subnets (private, no route
# to the internet), each reachable only from the clusters' node security groups.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

################################################################################
# KMS
################################################################################

data "aws_iam_policy_document" "kms" {
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
}

resource "aws_kms_key" "data" {
  description             = "${var.name}: RDS storage, Performance Insights, ElastiCache, MemoryDB"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json
  tags                    = var.tags
}

resource "aws_kms_alias" "data" {
  name          = "alias/${var.name}-data"
  target_key_id = aws_kms_key.data.key_id
}

################################################################################
# Security groups: ingress only from the EKS node security groups (blue and green)
################################################################################

resource "aws_security_group" "postgres" {
  name        = "${var.name}-postgres"
  description = "PostgreSQL: only from the EKS nodes and pods of the blue and green clusters"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "postgres" {
  for_each = var.allowed_security_group_ids

  security_group_id            = aws_security_group.postgres.id
  description                  = "PostgreSQL from EKS ${each.key} nodes/pods"
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
}

resource "aws_security_group" "redis" {
  name        = "${var.name}-redis"
  description = "Redis: only from the EKS nodes and pods of the blue and green clusters"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "redis" {
  for_each = var.allowed_security_group_ids

  security_group_id            = aws_security_group.redis.id
  description                  = "Redis from EKS ${each.key} nodes/pods"
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
}

################################################################################
# RDS PostgreSQL
################################################################################

resource "aws_db_parameter_group" "postgres" {
  name_prefix = "${var.name}-pg17-"
  family      = "postgres17"
  description = "${var.name} PostgreSQL parameters"

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }
  parameter {
    name  = "log_min_duration_statement"
    value = "500"
  }
  parameter {
    name  = "log_statement"
    value = "ddl"
  }
  parameter {
    name  = "log_connections"
    value = "1"
  }
  parameter {
    name  = "log_disconnections"
    value = "1"
  }

  lifecycle {
    create_before_destroy = true
  }
  tags = var.tags
}

resource "aws_iam_role" "rds_monitoring" {
  name_prefix = "${var.name}-rds-mon-"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "monitoring.rds.amazonaws.com" }
    }]
  })
  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "rds_monitoring" {
  role       = aws_iam_role.rds_monitoring.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

resource "aws_db_instance" "postgres" {
  identifier     = "${var.name}-postgres"
  engine         = "postgres"
  engine_version = var.postgres_version
  instance_class = var.db_instance_class

  allocated_storage     = var.db_allocated_storage
  max_allocated_storage = var.db_max_allocated_storage
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = aws_kms_key.data.arn

  db_name  = "weather"
  username = "weather_admin"
  # The master password is generated and rotated by RDS in Secrets Manager; the app uses
  # its own role (DATABASE_URL in the datastores secret, see docs/deploy.md).
  manage_master_user_password   = true
  master_user_secret_kms_key_id = aws_kms_key.data.arn

  iam_database_authentication_enabled = true

  db_subnet_group_name   = var.database_subnet_group_name
  vpc_security_group_ids = [aws_security_group.postgres.id]
  publicly_accessible    = false
  multi_az               = true
  port                   = 5432
  parameter_group_name   = aws_db_parameter_group.postgres.name

  backup_retention_period   = var.db_backup_retention_days
  backup_window             = "02:00-03:00"
  maintenance_window        = "sun:03:30-sun:04:30"
  copy_tags_to_snapshot     = true
  delete_automated_backups  = false
  deletion_protection       = true
  skip_final_snapshot       = false
  final_snapshot_identifier = "${var.name}-postgres-final"

  auto_minor_version_upgrade  = true
  allow_major_version_upgrade = false
  apply_immediately           = false

  enabled_cloudwatch_logs_exports       = ["postgresql", "upgrade"]
  monitoring_interval                   = 30
  monitoring_role_arn                   = aws_iam_role.rds_monitoring.arn
  performance_insights_enabled          = true
  performance_insights_kms_key_id       = aws_kms_key.data.arn
  performance_insights_retention_period = 7

  tags = var.tags
}

################################################################################
# ElastiCache Redis
################################################################################

resource "aws_elasticache_subnet_group" "redis" {
  name       = "${var.name}-redis"
  subnet_ids = var.database_subnet_ids
  tags       = var.tags
}

resource "random_password" "redis_auth" {
  length  = 64
  special = false
}

resource "aws_elasticache_replication_group" "redis" {
  replication_group_id = "${var.name}-redis"
  description          = "${var.name}: cache (usage stream and counters: MemoryDB)"
  engine               = "redis"
  engine_version       = "7.1"
  parameter_group_name = "default.redis7"
  node_type            = var.redis_node_type
  port                 = 6379

  num_cache_clusters         = 3
  automatic_failover_enabled = true
  multi_az_enabled           = true

  subnet_group_name  = aws_elasticache_subnet_group.redis.name
  security_group_ids = [aws_security_group.redis.id]

  at_rest_encryption_enabled = true
  kms_key_id                 = aws_kms_key.data.arn
  transit_encryption_enabled = true
  transit_encryption_mode    = "required"
  auth_token                 = random_password.redis_auth.result
  auth_token_update_strategy = "ROTATE"

  snapshot_retention_limit   = 7
  snapshot_window            = "01:00-02:00"
  maintenance_window         = "sun:04:30-sun:05:30"
  auto_minor_version_upgrade = true
  apply_immediately          = false

  tags = var.tags
}

################################################################################
# MemoryDB for Redis: the usage stream and the rate/quota counters (USAGE_REDIS_URL)
################################################################################
# Its own durable store: MemoryDB acknowledges a write only once it is in the Multi-AZ
# transaction log, so a node loss or a failover never drops an acknowledged usage event or
# counter increment; ElastiCache replication is asynchronous and a failover to a replica
# can lose the stream's un-replicated tail (docs/deploy.md, "The usage store").
# MemoryDB always runs in cluster mode: clients must be cluster-aware, use database 0, and
# keep the keys of one command or script in one hash slot.

resource "aws_security_group" "memorydb" {
  name        = "${var.name}-memorydb"
  description = "MemoryDB (usage store): only from the EKS nodes and pods of the blue and green clusters"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "memorydb" {
  for_each = var.allowed_security_group_ids

  security_group_id            = aws_security_group.memorydb.id
  description                  = "MemoryDB from EKS ${each.key} nodes/pods"
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
}

resource "aws_memorydb_subnet_group" "usage" {
  name        = "${var.name}-usage"
  description = "${var.name}: database subnets (private, three AZs)"
  subnet_ids  = var.database_subnet_ids
  tags        = var.tags
}

resource "random_password" "memorydb_usage" {
  length  = 64
  special = false
}

# The app's own user (the default user is not in the ACL, so it cannot connect). Everything
# but the @dangerous commands (FLUSHALL, KEYS, CONFIG, DEBUG, ...): the app needs streams,
# scripts and plain keys.
resource "aws_memorydb_user" "usage" {
  user_name     = "${var.name}-usage"
  access_string = "on ~* &* +@all -@dangerous"

  authentication_mode {
    type      = "password"
    passwords = [random_password.memorydb_usage.result]
  }

  tags = var.tags
}

resource "aws_memorydb_acl" "usage" {
  name       = "${var.name}-usage"
  user_names = [aws_memorydb_user.usage.user_name]
  tags       = var.tags
}

resource "aws_memorydb_cluster" "usage" {
  name           = "${var.name}-usage"
  description    = "${var.name}: usage stream and rate/quota counters"
  engine         = "redis"
  engine_version = "7.1"
  node_type      = var.memorydb_node_type
  port           = 6379

  # One shard (every key in one slot range) with replicas in the other AZs: a failover
  # promotes a replica that already has every acknowledged write (transaction log).
  num_shards             = 1
  num_replicas_per_shard = var.memorydb_replicas_per_shard

  subnet_group_name  = aws_memorydb_subnet_group.usage.name
  security_group_ids = [aws_security_group.memorydb.id]
  acl_name           = aws_memorydb_acl.usage.name

  tls_enabled = true
  kms_key_arn = aws_kms_key.data.arn

  snapshot_retention_limit   = var.memorydb_snapshot_retention_days
  snapshot_window            = "00:00-01:00"
  final_snapshot_name        = "${var.name}-usage-final"
  maintenance_window         = "sun:05:30-sun:06:30"
  auto_minor_version_upgrade = true

  tags = var.tags
}
