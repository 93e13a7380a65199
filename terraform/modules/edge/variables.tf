variable "name" {
  description = "Name prefix, e.g. weather-production."
  type        = string
}

variable "environment" {
  description = "staging or production (part of the secret name)."
  type        = string
}

variable "zone_name" {
  description = "Public Route53 zone (must exist), e.g. weatherapi.example.com."
  type        = string
}

variable "api_host" {
  description = "Customer-facing host served by CloudFront, e.g. api.weatherapi.example.com (the regional roots' api_host)."
  type        = string
}

variable "regions" {
  description = "Regions behind the edge, primary first. The origin group fails over from the first region to the second; with one region, to the latency-routed origin name."
  type        = list(string)
  validation {
    condition     = length(var.regions) >= 1 && length(var.regions) <= 2 && length(distinct(var.regions)) == length(var.regions)
    error_message = "One or two distinct regions (an origin group has exactly two members)."
  }
}

variable "waf_rate_limit_per_5_minutes" {
  description = "WAF rate-based rule limit per viewer IP and 5 minutes."
  type        = number
}

variable "price_class" {
  description = "CloudFront price class (edge locations used)."
  type        = string
  nullable    = false
  default     = "PriceClass_All"
}

variable "origin_read_timeout" {
  description = "Seconds CloudFront waits for an origin's answer: above gunicorn's 30 s timeout, so the app's own answer comes first."
  type        = number
  nullable    = false
  default     = 35
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
