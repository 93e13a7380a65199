variable "name" {
  description = "Prefix of the topic, key and alarm names, e.g. weather-production."
  type        = string
}

variable "clusters" {
  description = "EKS cluster name by colour (blue, green): one set of alarms each."
  type        = map(string)
}

variable "namespace" {
  description = "Kubernetes namespace of the app: the pod alarms watch only its pods."
  type        = string
  default     = "weather"
}

variable "subscriptions" {
  description = "Who is told when an alarm fires or clears: SNS subscriptions of the alarm topic (email ones must be confirmed from the mail SNS sends)."
  type = list(object({
    protocol = string
    endpoint = string
  }))
  default = []
  validation {
    condition     = alltrue([for s in var.subscriptions : contains(["email", "email-json", "https", "sqs", "lambda"], s.protocol)])
    error_message = "protocol must be email, email-json, https, sqs or lambda."
  }
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
