# Application secrets in Secrets Manager, encrypted with a dedicated KMS key. Each secret
# is a JSON object whose keys are the app's environment variable names; the
# SecretProviderClass (k8s) splits them into files under SECRETS_DIR with jmesPath.
#
#   weather/<env>/app            DJANGO_SECRET_KEY, OPENWEATHER_API_KEY, EMAIL_URL
#   weather/<env>/datastores     DATABASE_URL, REDIS_URL, USAGE_REDIS_URL,
#                                QUEUE_METRICS_DATABASE_URL (read-only role KEDA counts the job queue with)
#   weather/<env>/metrics-token  METRICS_TOKEN (also readable by the CloudWatch agent)
#
# Generated values live in the Terraform state, which is encrypted (S3 + KMS) and
# access-restricted. OPENWEATHER_API_KEY and EMAIL_URL are set by an operator
# (docs/deploy.md); Terraform never overwrites the app secret after creation.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_109:Key policy: "*" is this key only; the account-root statement is the AWS default that lets IAM policies grant use of the key
  #checkov:skip=CKV_AWS_111:Key policy: "*" is this key only; the account-root statement is the AWS default that lets IAM policies grant use of the key
  #checkov:skip=CKV_AWS_356:Key policy: "*" is this key only (key policies cannot name the key's own ARN)
  statement {
    sid       = "AccountAdministration"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
}

resource "aws_kms_key" "secrets" {
  description             = "${var.name}: application secrets in Secrets Manager"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json
  tags                    = var.tags
}

resource "aws_kms_alias" "secrets" {
  name          = "alias/${var.name}-secrets"
  target_key_id = aws_kms_key.secrets.key_id
}

resource "random_password" "django_secret_key" {
  length  = 64
  special = false
}

resource "random_password" "metrics_token" {
  length  = 48
  special = false
}

resource "random_password" "db_app_user" {
  length  = 40
  special = false
}

# weather_queue_metrics: SELECT on procrastinate_jobs only (docs/deploy.md step 5). KEDA's
# PostgreSQL trigger reads the jobs queue's depth with it, so the app role's password never
# leaves the pods' CSI volume for a Kubernetes Secret.
resource "random_password" "db_queue_metrics_user" {
  length  = 40
  special = false
}

resource "aws_secretsmanager_secret" "app" {
  #checkov:skip=CKV2_AWS_57:DJANGO_SECRET_KEY and the OpenWeather key are rotated by the documented procedure (docs/runbook.md), not by a rotation Lambda
  name                    = "weather/${var.environment}/app"
  description             = "Weather API application secrets"
  kms_key_id              = aws_kms_key.secrets.arn
  recovery_window_in_days = 30
  tags                    = var.tags
}

resource "aws_secretsmanager_secret_version" "app" {
  secret_id = aws_secretsmanager_secret.app.id
  secret_string = jsonencode({
    DJANGO_SECRET_KEY   = random_password.django_secret_key.result
    OPENWEATHER_API_KEY = "" # set by an operator, docs/deploy.md step 5
    EMAIL_URL           = "" # set by an operator, docs/deploy.md step 5
  })

  lifecycle {
    ignore_changes = [secret_string]
  }
}

resource "aws_secretsmanager_secret" "datastores" {
  #checkov:skip=CKV2_AWS_57:Composed by Terraform from the RDS app role, the Redis AUTH token and the MemoryDB user's password; rotated by re-applying with new random_password values (docs/runbook.md)
  name                    = "weather/${var.environment}/datastores"
  description             = "Weather API connection URLs (PostgreSQL app and queue-metrics roles, Redis with AUTH over TLS, MemoryDB user over TLS)"
  kms_key_id              = aws_kms_key.secrets.arn
  recovery_window_in_days = 30
  tags                    = var.tags
}

resource "aws_secretsmanager_secret_version" "datastores" {
  secret_id = aws_secretsmanager_secret.datastores.id
  # USAGE_REDIS_URL: MemoryDB runs in cluster mode, where database 0 is the only one.
  # QUEUE_METRICS_DATABASE_URL: no app setting reads it; the SecretProviderClass syncs it into
  # the Kubernetes Secret weather-queue-metrics-db for KEDA (k8s/base/scaledobject-jobs-worker.yaml).
  secret_string = jsonencode({
    DATABASE_URL               = "postgres://weather_app:${random_password.db_app_user.result}@${var.postgres_address}:5432/weather?sslmode=require"
    REDIS_URL                  = "rediss://:${var.redis_auth_token}@${var.redis_primary_endpoint}:6379/0"
    USAGE_REDIS_URL            = "rediss://${var.usage_redis_user}:${var.usage_redis_password}@${var.usage_redis_endpoint}:6379/0"
    QUEUE_METRICS_DATABASE_URL = "postgres://weather_queue_metrics:${random_password.db_queue_metrics_user.result}@${var.postgres_address}:5432/weather?sslmode=require"
  })
}

resource "aws_secretsmanager_secret" "metrics_token" {
  #checkov:skip=CKV2_AWS_57:Static bearer token shared by the app and its scrapers; rotated by the documented procedure (docs/runbook.md)
  name                    = "weather/${var.environment}/metrics-token"
  description             = "Bearer token for /metrics (app, Prometheus, CloudWatch agent)"
  kms_key_id              = aws_kms_key.secrets.arn
  recovery_window_in_days = 30
  tags                    = var.tags
}

resource "aws_secretsmanager_secret_version" "metrics_token" {
  secret_id = aws_secretsmanager_secret.metrics_token.id
  secret_string = jsonencode({
    METRICS_TOKEN = random_password.metrics_token.result
  })
}
