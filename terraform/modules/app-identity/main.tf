# EKS Pod Identity for the weather API: one IAM role for the app's service account
# (namespace weather, service account weather-app) in every cluster of the environment,
# allowed to read ONLY the app's secrets; and one for the CloudWatch agent's Prometheus
# scraper (amazon-cloudwatch/cwagent-prometheus), allowed to read ONLY the metrics token.

data "aws_region" "current" {}

data "aws_iam_policy_document" "trust" {
  statement {
    sid     = "EksPodIdentity"
    actions = ["sts:AssumeRole", "sts:TagSession"]
    principals {
      type        = "Service"
      identifiers = ["pods.eks.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "app" {
  statement {
    sid       = "ReadAppSecrets"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = values(var.app_secret_arns)
  }
  statement {
    sid       = "DecryptViaSecretsManager"
    actions   = ["kms:Decrypt"]
    resources = [var.secrets_kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${data.aws_region.current.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "app" {
  name               = "${var.name}-app"
  assume_role_policy = data.aws_iam_policy_document.trust.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "app" {
  name   = "read-app-secrets"
  role   = aws_iam_role.app.id
  policy = data.aws_iam_policy_document.app.json
}

resource "aws_eks_pod_identity_association" "app" {
  for_each = toset(var.cluster_names)

  cluster_name    = each.value
  namespace       = "weather"
  service_account = "weather-app"
  role_arn        = aws_iam_role.app.arn
  tags            = var.tags
}

data "aws_iam_policy_document" "cwagent" {
  statement {
    sid       = "ReadMetricsToken"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = [var.metrics_token_secret_arn]
  }
  statement {
    sid       = "DecryptViaSecretsManager"
    actions   = ["kms:Decrypt"]
    resources = [var.secrets_kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${data.aws_region.current.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "cwagent" {
  name               = "${var.name}-cwagent-prometheus"
  assume_role_policy = data.aws_iam_policy_document.trust.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "cwagent" {
  name   = "read-metrics-token"
  role   = aws_iam_role.cwagent.id
  policy = data.aws_iam_policy_document.cwagent.json
}

resource "aws_iam_role_policy_attachment" "cwagent" {
  role       = aws_iam_role.cwagent.name
  policy_arn = "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"
}

resource "aws_eks_pod_identity_association" "cwagent" {
  for_each = toset(var.cluster_names)

  cluster_name    = each.value
  namespace       = "amazon-cloudwatch"
  service_account = "cwagent-prometheus"
  role_arn        = aws_iam_role.cwagent.arn
  tags            = var.tags
}
