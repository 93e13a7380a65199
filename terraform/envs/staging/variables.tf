# Values: terraform.tfvars (or -var). The provider inputs are declared here; the others
# are passed through to modules/stack, whose variables.tf holds their types, descriptions
# and defaults (null here = the stack's default).

variable "account_id" {
  description = "AWS account of this environment (guards against applying to the wrong one)."
  type        = string
}

variable "region" {
  description = "AWS region of this deployment (one state per region)."
  type        = string
}

variable "environment" {}
variable "vpc_cidr" {}
variable "az_ids" {}
variable "kubernetes_versions" {}
variable "apps_instance_types" {}
variable "apps_min_size" {}
variable "apps_max_size" {}
variable "db_instance_class" {}
variable "db_backup_retention_days" {}
variable "redis_node_type" {}
variable "memorydb_node_type" {}
variable "zone_name" {}
variable "api_host" {}
variable "ops_host" {}

variable "single_nat_gateway" { default = null }
variable "endpoint_public_access" { default = null }
variable "endpoint_public_access_cidrs" { default = null }
variable "access_entries" { default = null }
variable "initial_weights" { default = null }
variable "alb_lookup_enabled" { default = null }
variable "memorydb_replicas_per_shard" { default = null }
variable "edge_in_service" { default = null }
variable "alarm_subscriptions" { default = null }
