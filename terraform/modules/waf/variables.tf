variable "name" {
  description = "Web ACL name, e.g. weather-production."
  type        = string
}

variable "rate_limit_per_5_minutes" {
  description = "Requests per client IP per 5 minutes before WAF answers 429."
  type        = number
  default     = 3000
}

variable "logs_kms_key_arn" {
  description = "KMS key for the WAF log group."
  type        = string
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
