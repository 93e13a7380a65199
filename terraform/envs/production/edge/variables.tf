# Values: terraform.tfvars (or -var). zone_name and api_host must equal the regional roots'
# (tests/infra/test_terraform.py checks it); regions lists applied regional roots.

variable "account_id" {
  description = "AWS account of this environment (guards against applying to the wrong one)."
  type        = string
}

variable "home_region" {
  description = "Region of the edge's own regional resources (the origin secret)."
  type        = string
}

variable "environment" {
  description = "Environment name."
  type        = string
}

variable "zone_name" {
  description = "Public Route53 zone (the regional roots' zone_name)."
  type        = string
}

variable "api_host" {
  description = "Customer-facing host (the regional roots' api_host)."
  type        = string
}

variable "regions" {
  description = "Regions behind the edge, primary first (the origin group fails over to the second)."
  type        = list(string)
}

variable "waf_rate_limit_per_5_minutes" {
  description = "WAF rate-based rule limit per viewer IP and 5 minutes."
  type        = number
}

variable "price_class" {
  description = "CloudFront price class."
  type        = string
  default     = null
}
