output "app_role_arn" {
  description = "IAM role of the weather-app service account."
  value       = aws_iam_role.app.arn
}

output "cwagent_role_arn" {
  description = "IAM role of the CloudWatch agent Prometheus scraper."
  value       = aws_iam_role.cwagent.arn
}
