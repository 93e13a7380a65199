# Forwarded from modules/edge (docs/deploy.md and docs/runbook.md use them).

output "distribution_id" {
  description = "CloudFront distribution id (invalidations, metrics)."
  value       = module.edge.distribution_id
}

output "distribution_domain_name" {
  description = "CloudFront domain name of the api host."
  value       = module.edge.distribution_domain_name
}

output "web_acl_arn" {
  description = "CLOUDFRONT-scope WAF web ACL."
  value       = module.edge.web_acl_arn
}

output "origin_name" {
  description = "Latency-routed origin name of the all-method behaviours."
  value       = module.edge.origin_name
}

output "origin_verify_header" {
  description = "Header the public ALBs require."
  value       = module.edge.origin_verify_header
}

output "origin_verify_secret_name" {
  description = "Secrets Manager secret (home region) with its value, read when the overlay is rendered."
  value       = module.edge.origin_verify_secret_name
}
