# Inputs of one environment in one region. The env roots (terraform/envs/<env>) pass their
# terraform.tfvars through; an input they leave unset arrives as null, and nullable = false
# turns that into the default below.

variable "environment" {
  description = "Environment name."
  type        = string
}

variable "region" {
  description = "AWS region of this deployment (one state per region)."
  type        = string
}

variable "vpc_cidr" {
  description = "VPC CIDR; must match the NetworkPolicy CIDRs of the k8s overlay."
  type        = string
}

variable "az_ids" {
  description = "Availability zone ids (three) of this region."
  type        = list(string)
}

variable "single_nat_gateway" {
  description = "One NAT gateway instead of one per AZ."
  type        = bool
  nullable    = false
  default     = false
}

variable "kubernetes_versions" {
  description = "Kubernetes version per colour (upgrade the idle colour, then switch)."
  type        = map(string)
}

variable "endpoint_public_access" {
  description = "Public EKS API endpoint (restricted by CIDR)."
  type        = bool
  nullable    = false
  default     = false
}

variable "endpoint_public_access_cidrs" {
  description = "CIDRs allowed to the public EKS API endpoint."
  type        = list(string)
  nullable    = false
  default     = []
}

variable "access_entries" {
  description = "EKS access entries (admins, CI deploy role)."
  type        = any
  nullable    = false
  default     = {}
}

variable "apps_instance_types" {
  description = "Instance types of the apps node group."
  type        = list(string)
}

variable "apps_min_size" {
  description = "Minimum apps nodes per cluster."
  type        = number
}

variable "apps_max_size" {
  description = "Maximum apps nodes per cluster."
  type        = number
}

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
}

variable "db_backup_retention_days" {
  description = "RDS backup retention in days (>= 7)."
  type        = number
}

variable "redis_node_type" {
  description = "ElastiCache node type."
  type        = string
}

variable "memorydb_node_type" {
  description = "MemoryDB node type of the usage store (usage stream, rate/quota counters)."
  type        = string
}

variable "memorydb_replicas_per_shard" {
  description = "MemoryDB replicas per shard (at least 1)."
  type        = number
  nullable    = false
  default     = 2
}

variable "zone_name" {
  description = "Public Route53 zone (must exist)."
  type        = string
}

variable "api_host" {
  description = "Customer-facing API / portal host."
  type        = string
}

variable "ops_host" {
  description = "Operator host (internal ALB: /admin, /metrics)."
  type        = string
}

variable "initial_weights" {
  description = "Route53 weights per colour when the records are first created."
  type        = map(number)
  nullable    = false
  default = {
    blue  = 100
    green = 0
  }
}

variable "alb_lookup_enabled" {
  description = "Create the DNS records for the ALBs (set to true once the Ingresses exist)."
  type        = bool
  nullable    = false
  default     = false
}

variable "edge_in_service" {
  description = "This region takes CloudFront's all-method traffic: its latency record under the origin name exists (false drains the region, docs/runbook.md, region failover drill)."
  type        = bool
  nullable    = false
  default     = true
}

variable "alarm_subscriptions" {
  description = "SNS subscriptions (protocol, endpoint) of the CloudWatch alarm topic, e.g. the on-call address."
  type = list(object({
    protocol = string
    endpoint = string
  }))
  nullable = false
  default  = []
}
