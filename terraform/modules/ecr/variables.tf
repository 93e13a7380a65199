variable "name" {
  description = "Repository name."
  type        = string
  default     = "weatherapi"
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
