variable "name" {
  description = "Name prefix, e.g. weather-production."
  type        = string
}

variable "cluster_names" {
  description = "EKS clusters (blue, green) whose weather/weather-app service account gets the role."
  type        = list(string)
}

variable "app_secret_arns" {
  description = "The app's Secrets Manager secret ARNs: the only secrets the role may read."
  type        = map(string)
}

variable "metrics_token_secret_arn" {
  description = "ARN of the metrics-token secret (CloudWatch agent scraper)."
  type        = string
}

variable "secrets_kms_key_arn" {
  description = "KMS key of the secrets."
  type        = string
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
