variable "name" {
  description = "Web ACL name, e.g. weather-production."
  type        = string
}

variable "rate_limit_per_5_minutes" {
  description = "Requests per client IP per 5 minutes before WAF answers 429."
  type        = number
  default     = 3000
}

variable "max_uri_path_bytes" {
  description = "Longest URI path passed on; longer ones get a JSON 414 (AWSManagedRulesCommonRuleSet blocks over 1024 too)."
  type        = number
  default     = 1024
}

variable "max_query_string_bytes" {
  description = "Longest query string passed on; longer ones get a JSON 414 (the API's own cap is 2048 characters)."
  type        = number
  default     = 2048
}

variable "logs_kms_key_arn" {
  description = "KMS key for the WAF log group (in us-east-1, like the group)."
  type        = string
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
