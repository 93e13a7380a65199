output "certificate_arn" {
  description = "ACM certificate for both Ingresses (alb.ingress.kubernetes.io/certificate-arn)."
  value       = aws_acm_certificate_validation.this.certificate_arn
}

output "regional_names" {
  description = "Weighted (blue/green) record names in this region, by ingress kind."
  value       = local.regional_name
}

output "cluster_health_hosts" {
  description = "Per-cluster public names (external-dns) for the blue/green health gates."
  value       = { for color in keys(var.clusters) : color => "weather-public.${color}.${var.region}.${var.zone_name}" }
}
