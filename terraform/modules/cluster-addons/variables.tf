variable "cluster_name" {
  description = "EKS cluster to install into."
  type        = string
}

variable "color" {
  description = "blue or green (used in the external-dns names)."
  type        = string
}

variable "region" {
  description = "AWS region of the cluster."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the cluster (AWS Load Balancer Controller)."
  type        = string
}

variable "zone_name" {
  description = "Public Route53 zone, e.g. weatherapi.example.com."
  type        = string
}

variable "hosted_zone_arn" {
  description = "ARN of that zone (external-dns may change only it)."
  type        = string
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
