variable "name" {
  description = "Name prefix of the VPC and its resources."
  type        = string
}

variable "cidr" {
  description = "VPC CIDR (a /16). Database subnets are <cidr>.200-202.0/24, inside <cidr>.200.0/21 which the k8s NetworkPolicies allow."
  type        = string
}

variable "az_ids" {
  description = "The three availability zone ids to use, e.g. [\"euw1-az1\", \"euw1-az2\", \"euw1-az3\"]."
  type        = list(string)
  validation {
    condition     = length(var.az_ids) == 3
    error_message = "Exactly three availability zones."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for the whole VPC (cheaper, staging) instead of one per AZ (production)."
  type        = bool
  default     = false
}

variable "logs_kms_key_arn" {
  description = "KMS key for the flow log group."
  type        = string
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
