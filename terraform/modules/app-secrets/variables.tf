variable "name" {
  description = "Name prefix, e.g. weather-production."
  type        = string
}

variable "environment" {
  description = "staging or production (part of the secret names)."
  type        = string
}

variable "postgres_address" {
  description = "RDS host name."
  type        = string
}

variable "redis_primary_endpoint" {
  description = "Redis primary endpoint host name."
  type        = string
}

variable "redis_auth_token" {
  description = "Redis AUTH token."
  type        = string
  sensitive   = true
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
