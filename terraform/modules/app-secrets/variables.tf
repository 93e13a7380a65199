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

variable "usage_redis_endpoint" {
  description = "MemoryDB cluster endpoint host name (the usage store)."
  type        = string
}

variable "usage_redis_user" {
  description = "MemoryDB user of the app."
  type        = string
}

variable "usage_redis_password" {
  description = "Password of that MemoryDB user."
  type        = string
  sensitive   = true
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
