variable "zone_id" {
  description = "Public Route53 hosted zone id."
  type        = string
}

variable "zone_name" {
  description = "Public Route53 zone name, e.g. weatherapi.example.com."
  type        = string
}

variable "api_host" {
  description = "Customer-facing host of the public ingress, e.g. api.weatherapi.example.com (served by CloudFront)."
  type        = string
}

variable "ops_host" {
  description = "Operator host of the internal ingress, e.g. ops.weatherapi.example.com."
  type        = string
}

variable "region" {
  description = "Region of this deployment (latency routing set identifier)."
  type        = string
}

variable "clusters" {
  description = "EKS cluster name by colour: { blue = ..., green = ... }."
  type        = map(string)
}

variable "initial_weights" {
  description = "Route53 weights at creation, by colour (later moved by scripts/bluegreen_switch.py)."
  type        = map(number)
  default = {
    blue  = 100
    green = 0
  }
}

variable "alb_lookup_enabled" {
  description = "Create the weighted/latency records (the ALBs must exist: set after the first k8s rollout)."
  type        = bool
  default     = false
}

variable "edge_in_service" {
  description = "Publish this region's latency record under CloudFront's origin name (false: CloudFront's all-method traffic goes to the other regions)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
