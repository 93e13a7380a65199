variable "name" {
  description = "Cluster name, e.g. weather-production-blue."
  type        = string
}

variable "color" {
  description = "blue or green."
  type        = string
  validation {
    condition     = contains(["blue", "green"], var.color)
    error_message = "color must be blue or green."
  }
}

variable "kubernetes_version" {
  description = "Kubernetes minor version (the idle colour is upgraded first, then traffic moves)."
  type        = string
}

variable "vpc_id" {
  description = "VPC id."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets (three AZs) for nodes, pods and control-plane ENIs."
  type        = list(string)
}

variable "endpoint_public_access" {
  description = "Expose the API server endpoint publicly (restricted by endpoint_public_access_cidrs)."
  type        = bool
  default     = false
}

variable "endpoint_public_access_cidrs" {
  description = "CIDRs allowed to reach a public API endpoint (office / CI egress)."
  type        = list(string)
  default     = []
}

variable "access_entries" {
  description = "EKS access entries (admins, CI deploy role)."
  type        = any
  default     = {}
}

variable "apps_instance_types" {
  description = "Instance types of the apps node group."
  type        = list(string)
  default     = ["m7i.large"]
}

variable "apps_min_size" {
  description = "Minimum nodes in the apps group (at least one per AZ)."
  type        = number
  default     = 3
}

variable "apps_max_size" {
  description = "Maximum nodes in the apps group (Cluster Autoscaler bound)."
  type        = number
  default     = 12
}

variable "system_instance_types" {
  description = "Instance types of the tainted system node group."
  type        = list(string)
  default     = ["m7i.large"]
}

variable "logs_kms_key_arn" {
  description = "KMS key for the control-plane log group."
  type        = string
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
