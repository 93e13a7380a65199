output "certificate_arn" {
  description = "ACM certificate for both Ingresses (alb.ingress.kubernetes.io/certificate-arn)."
  value       = aws_acm_certificate_validation.this.certificate_arn
}

output "regional_names" {
  description = "Weighted (blue/green) record names in this region, by ingress kind."
  value       = local.regional_name
}

output "cluster_health_hosts" {
  description = "Per-cluster internal names (external-dns) for the blue/green health gates: the public ALBs answer only CloudFront."
  value       = { for color in keys(var.clusters) : color => "weather-internal.${color}.${var.region}.${var.zone_name}" }
}

output "origin_name" {
  description = "CloudFront's origin name for the all-method behaviours (latency record per region)."
  value       = local.origin_name
}
