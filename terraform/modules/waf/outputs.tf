output "web_acl_arn" {
  description = "Web ACL ARN for the CloudFront distribution's web_acl_id (modules/edge)."
  value       = aws_wafv2_web_acl.this.arn
}
