output "distribution_id" {
  description = "CloudFront distribution id (invalidations, CloudWatch metrics in us-east-1)."
  value       = aws_cloudfront_distribution.this.id
}

output "distribution_domain_name" {
  description = "CloudFront domain name the api host is an alias of."
  value       = aws_cloudfront_distribution.this.domain_name
}

output "web_acl_arn" {
  description = "The CLOUDFRONT-scope WAF web ACL attached to the distribution."
  value       = module.waf.web_acl_arn
}

output "origin_name" {
  description = "Origin of the all-method behaviours (latency records published by each region's modules/dns)."
  value       = local.origin_name
}

output "origin_verify_header" {
  description = "Name of the secret origin header the public ALBs require (k8s/base/ingress-public.yaml)."
  value       = local.origin_header
}

output "origin_verify_secret_name" {
  description = "Secrets Manager secret (home region) holding the header's value (JSON key ORIGIN_VERIFY)."
  value       = aws_secretsmanager_secret.origin_verify.name
}

output "tags" {
  description = "Tags of every resource of the edge (also the providers' default_tags in the edge root)."
  value       = local.tags
}
