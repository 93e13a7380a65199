output "secret_arns" {
  description = "ARNs of the application secrets, by key."
  value = {
    app           = aws_secretsmanager_secret.app.arn
    datastores    = aws_secretsmanager_secret.datastores.arn
    metrics_token = aws_secretsmanager_secret.metrics_token.arn
  }
}

output "secret_names" {
  description = "Names of the application secrets (SecretProviderClass objectName)."
  value = {
    app           = aws_secretsmanager_secret.app.name
    datastores    = aws_secretsmanager_secret.datastores.name
    metrics_token = aws_secretsmanager_secret.metrics_token.name
  }
}

output "kms_key_arn" {
  description = "KMS key of the secrets."
  value       = aws_kms_key.secrets.arn
}

output "db_app_user_password" {
  description = "Password of the weather_app PostgreSQL role (docs/deploy.md creates the role with it)."
  value       = random_password.db_app_user.result
  sensitive   = true
}

output "db_queue_metrics_user_password" {
  description = "Password of the read-only weather_queue_metrics PostgreSQL role (docs/deploy.md creates the role with it)."
  value       = random_password.db_queue_metrics_user.result
  sensitive   = true
}
