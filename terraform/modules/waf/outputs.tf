output "web_acl_arn" {
  description = "Goes into the public Ingress annotation alb.ingress.kubernetes.io/wafv2-acl-arn."
  value       = aws_wafv2_web_acl.this.arn
}
