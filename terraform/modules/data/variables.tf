variable "name" {
  description = "Name prefix, e.g. weather-production."
  type        = string
}

variable "vpc_id" {
  description = "VPC id."
  type        = string
}

variable "database_subnet_group_name" {
  description = "RDS subnet group over the database subnets."
  type        = string
}

variable "database_subnet_ids" {
  description = "Database subnets (three AZs)."
  type        = list(string)
}

variable "allowed_security_group_ids" {
  description = "Security groups allowed into PostgreSQL, Redis and MemoryDB, keyed by a label (blue, green)."
  type        = map(string)
}

variable "postgres_version" {
  description = "PostgreSQL engine version."
  type        = string
  default     = "17.5"
}

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.m7g.large"
}

variable "db_allocated_storage" {
  description = "Initial storage in GiB."
  type        = number
  default     = 50
}

variable "db_max_allocated_storage" {
  description = "Storage autoscaling ceiling in GiB."
  type        = number
  default     = 500
}

variable "db_backup_retention_days" {
  description = "Automated backup retention (days, at least 7)."
  type        = number
  default     = 14
  validation {
    condition     = var.db_backup_retention_days >= 7
    error_message = "Keep at least 7 days of backups."
  }
}

variable "redis_node_type" {
  description = "ElastiCache node type."
  type        = string
  default     = "cache.m7g.large"
}

variable "memorydb_node_type" {
  description = "MemoryDB node type of the usage store."
  type        = string
  default     = "db.r7g.large"
}

variable "memorydb_replicas_per_shard" {
  description = "MemoryDB replicas per shard (in other AZs; at least one, so a node loss fails over)."
  type        = number
  default     = 2
  validation {
    condition     = var.memorydb_replicas_per_shard >= 1 && var.memorydb_replicas_per_shard <= 5
    error_message = "Between 1 and 5 replicas per shard."
  }
}

variable "memorydb_snapshot_retention_days" {
  description = "Days of daily MemoryDB snapshots kept (at least 7)."
  type        = number
  default     = 7
  validation {
    condition     = var.memorydb_snapshot_retention_days >= 7
    error_message = "Keep at least 7 days of snapshots."
  }
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
