# The edge of one environment, in front of every region: one CloudFront distribution with
# the CLOUDFRONT-scope WAF web ACL, its certificate, the secret origin header, the api
# host's DNS alias. Applied once per environment from terraform/envs/<env>/edge.
#
#   viewer ─ TLS 1.2+ (TLSv1.2_2021), HTTP/2 and HTTP/3 ─▶ CloudFront + WAF (managed rules, per-IP rate rule)
#     /v1/*, /o/*, everything else   never cached, every header, query string, cookie and
#                                    method forwarded ─▶ origin "api": origin.<api host>,
#                                    a latency record per region (modules/dns) whose alias
#                                    evaluates the ALBs' health, so DNS fails over between
#                                    regions for every method
#     /static/*, /api/docs/*         cached (GET/HEAD/OPTIONS) ─▶ origin group "regions":
#                                    api.<region 1>.<zone>, failing over on 5xx or no answer
#                                    to api.<region 2>.<zone> (weighted blue/green records)
#
# CloudFront refuses an origin group on a behaviour that allows POST, PUT, PATCH or DELETE
# (it fails over only GET, HEAD and OPTIONS), hence the latency-routed origin for the API.
# Every origin request carries the header X-Origin-Verify with a generated secret; the
# public ALBs accept only CloudFront's origin-facing prefix list and forward only requests
# carrying it (k8s/base/ingress-public.yaml), so nobody reaches an ALB around the WAF.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

data "aws_route53_zone" "public" {
  name         = var.zone_name
  private_zone = false
}

locals {
  tags = merge({
    Project     = "weatherapi"
    Environment = var.environment
    ManagedBy   = "terraform"
    Repository  = "weatherapi/terraform/envs/${var.environment}/edge"
  }, var.tags)

  # The names modules/dns publishes in every region (same rules).
  origin_name    = "origin.${var.api_host}"
  regional_names = { for r in var.regions : r => "${split(".", var.api_host)[0]}.${r}.${var.zone_name}" }

  origin_header   = "X-Origin-Verify"
  all_methods     = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
  primary_member  = "region-${var.regions[0]}"
  failover_member = length(var.regions) > 1 ? "region-${var.regions[1]}" : "api"
}

################################################################################
# KMS: the origin secret (home region) and the edge's log groups (us-east-1)
################################################################################

data "aws_iam_policy_document" "secrets_kms" {
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
  description             = "${var.name}: edge secrets in Secrets Manager"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.secrets_kms.json
  tags                    = local.tags
}

resource "aws_kms_alias" "secrets" {
  name          = "alias/${var.name}-edge-secrets"
  target_key_id = aws_kms_key.secrets.key_id
}

data "aws_iam_policy_document" "logs_kms" {
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
  statement {
    sid       = "CloudWatchLogs"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.us-east-1.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${data.aws_partition.current.partition}:logs:us-east-1:${data.aws_caller_identity.current.account_id}:*"]
    }
  }
}

resource "aws_kms_key" "logs" {
  provider = aws.us_east_1

  description             = "${var.name}: edge logs (CloudFront access logs, WAF logs)"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.logs_kms.json
  tags                    = local.tags
}

resource "aws_kms_alias" "logs" {
  provider = aws.us_east_1

  name          = "alias/${var.name}-edge-logs"
  target_key_id = aws_kms_key.logs.key_id
}

################################################################################
# The secret origin header
################################################################################

# Lower case and digits only: ALB header conditions compare case-insensitively, so upper
# case would add no strength (48 characters of [a-z0-9] are about 248 bits).
resource "random_password" "origin_verify" {
  length  = 48
  special = false
  upper   = false
}

# Read by the release pipeline, which writes the value into the public Ingress's header
# condition when it renders the overlay (docs/deploy.md, step 6); never by the app.
resource "aws_secretsmanager_secret" "origin_verify" {
  #checkov:skip=CKV2_AWS_57:Rotated by the documented two-value procedure (docs/runbook.md, "Secret rotation"): the ALBs accept old and new while CloudFront switches; a rotation Lambda cannot re-render the Ingresses
  name                    = "weather/${var.environment}/origin-verify"
  description             = "Value of the ${local.origin_header} header CloudFront sends to the public ALBs"
  kms_key_id              = aws_kms_key.secrets.arn
  recovery_window_in_days = 30
  tags                    = local.tags
}

resource "aws_secretsmanager_secret_version" "origin_verify" {
  secret_id = aws_secretsmanager_secret.origin_verify.id
  secret_string = jsonencode({
    ORIGIN_VERIFY = random_password.origin_verify.result
  })
}

################################################################################
# WAF web ACL (CLOUDFRONT scope: us-east-1)
################################################################################

module "waf" {
  source    = "../waf"
  providers = { aws = aws.us_east_1 }

  name                     = var.name
  rate_limit_per_5_minutes = var.waf_rate_limit_per_5_minutes
  logs_kms_key_arn         = aws_kms_key.logs.arn
  tags                     = local.tags
}

################################################################################
# Viewer certificate (CloudFront takes ACM certificates from us-east-1 only)
################################################################################

resource "aws_acm_certificate" "edge" {
  provider = aws.us_east_1

  domain_name       = var.api_host
  validation_method = "DNS"

  options {
    certificate_transparency_logging_preference = "ENABLED"
  }

  lifecycle {
    create_before_destroy = true
  }
  tags = local.tags
}

# ACM derives the validation record from the domain and the account, so it is the same
# record modules/dns validates the regional certificate with: overwriting is expected.
resource "aws_route53_record" "edge_validation" {
  for_each = {
    for dvo in aws_acm_certificate.edge.domain_validation_options : dvo.domain_name => {
      name   = dvo.resource_record_name
      record = dvo.resource_record_value
      type   = dvo.resource_record_type
    }
  }

  zone_id         = data.aws_route53_zone.public.zone_id
  name            = each.value.name
  type            = each.value.type
  ttl             = 300
  records         = [each.value.record]
  allow_overwrite = true
}

resource "aws_acm_certificate_validation" "edge" {
  provider = aws.us_east_1

  certificate_arn         = aws_acm_certificate.edge.arn
  validation_record_fqdns = [for r in aws_route53_record.edge_validation : r.fqdn]
}

################################################################################
# Policies
################################################################################

# Authenticated, metered paths: nothing cached, everything the viewer sent forwarded.
data "aws_cloudfront_cache_policy" "caching_disabled" {
  name = "Managed-CachingDisabled"
}

data "aws_cloudfront_origin_request_policy" "all_viewer" {
  name = "Managed-AllViewer"
}

# Static files and the API docs: the origin's Cache-Control decides (WhiteNoise: a year for
# hashed file names, 60 s otherwise); ten minutes when it sends none (the docs page).
resource "aws_cloudfront_cache_policy" "cached" {
  name        = "${var.name}-cached"
  comment     = "Static files and API docs: origin Cache-Control, else 10 minutes"
  min_ttl     = 0
  default_ttl = 600
  max_ttl     = 31536000

  parameters_in_cache_key_and_forwarded_to_origin {
    enable_accept_encoding_gzip   = true
    enable_accept_encoding_brotli = true
    cookies_config {
      cookie_behavior = "none"
    }
    headers_config {
      header_behavior = "none"
    }
    query_strings_config {
      query_string_behavior = "none"
    }
  }
}

# The cached paths still need the viewer's Host: the ALB routes by it and Django validates it.
resource "aws_cloudfront_origin_request_policy" "host_only" {
  name    = "${var.name}-host-only"
  comment = "Cached paths: only the Host header reaches the origin"

  cookies_config {
    cookie_behavior = "none"
  }
  headers_config {
    header_behavior = "whitelist"
    headers {
      items = ["Host"]
    }
  }
  query_strings_config {
    query_string_behavior = "none"
  }
}

# Security headers on answers that carry none (static files, the ALB's own 404s); the app's
# own values win, except HSTS, which is the app's exact value (SECURE_HSTS_*) on every answer.
resource "aws_cloudfront_response_headers_policy" "security" {
  name    = "${var.name}-security"
  comment = "Security headers where the origin set none"

  security_headers_config {
    strict_transport_security {
      access_control_max_age_sec = 31536000
      include_subdomains         = true
      preload                    = true
      override                   = true
    }
    content_type_options {
      override = false
    }
    frame_options {
      frame_option = "DENY"
      override     = false
    }
    referrer_policy {
      referrer_policy = "strict-origin-when-cross-origin"
      override        = false
    }
  }
}

################################################################################
# Distribution
################################################################################

resource "aws_cloudfront_distribution" "this" {
  #checkov:skip=CKV_AWS_86:Access logs go to CloudWatch Logs through CloudFront standard logging v2 (aws_cloudwatch_log_delivery below), which this check does not see; it looks for the legacy S3 logging_config, which needs an ACL-enabled bucket
  #checkov:skip=CKV_AWS_305:No default root object: "/" is the portal's landing page rendered by Django, not a file
  #checkov:skip=CKV_AWS_374:No geo restriction: the API is sold worldwide; abuse is met by the WAF and the app's per-account limits
  comment         = "${var.name}: Weather API edge"
  enabled         = true
  is_ipv6_enabled = true
  http_version    = "http2and3"
  price_class     = var.price_class
  aliases         = [var.api_host]
  web_acl_id      = module.waf.web_acl_arn

  # Every region for every method: DNS (latency, health-evaluated) picks the region.
  origin {
    origin_id           = "api"
    domain_name         = local.origin_name
    connection_attempts = 2
    connection_timeout  = 5

    custom_origin_config {
      http_port                = 80
      https_port               = 443
      origin_protocol_policy   = "https-only"
      origin_ssl_protocols     = ["TLSv1.2"]
      origin_read_timeout      = var.origin_read_timeout
      origin_keepalive_timeout = 50 # below the ALB's 60 s idle timeout
    }

    custom_header {
      name  = local.origin_header
      value = random_password.origin_verify.result
    }
  }

  # One origin per region (its blue/green weighted name), members of the origin group.
  dynamic "origin" {
    for_each = local.regional_names
    content {
      origin_id           = "region-${origin.key}"
      domain_name         = origin.value
      connection_attempts = 2
      connection_timeout  = 5

      custom_origin_config {
        http_port                = 80
        https_port               = 443
        origin_protocol_policy   = "https-only"
        origin_ssl_protocols     = ["TLSv1.2"]
        origin_read_timeout      = var.origin_read_timeout
        origin_keepalive_timeout = 50
      }

      custom_header {
        name  = local.origin_header
        value = random_password.origin_verify.result
      }
    }
  }

  origin_group {
    origin_id = "regions"

    failover_criteria {
      status_codes = [500, 502, 503, 504]
    }
    member {
      origin_id = local.primary_member
    }
    member {
      origin_id = local.failover_member
    }
  }

  # The portal (sessions, CSRF, form POSTs), /api/schema/, /api/redoc/: never cached.
  default_cache_behavior {
    target_origin_id           = "api"
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = local.all_methods
    cached_methods             = ["GET", "HEAD"]
    cache_policy_id            = data.aws_cloudfront_cache_policy.caching_disabled.id
    origin_request_policy_id   = data.aws_cloudfront_origin_request_policy.all_viewer.id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.security.id
    compress                   = false
  }

  # The API: authenticated and metered, so never cached, and everything forwarded. Plain
  # HTTP is refused rather than redirected: a redirect would follow a credential already sent.
  ordered_cache_behavior {
    path_pattern               = "/v1/*"
    target_origin_id           = "api"
    viewer_protocol_policy     = "https-only"
    allowed_methods            = local.all_methods
    cached_methods             = ["GET", "HEAD"]
    cache_policy_id            = data.aws_cloudfront_cache_policy.caching_disabled.id
    origin_request_policy_id   = data.aws_cloudfront_origin_request_policy.all_viewer.id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.security.id
    compress                   = false
  }

  ordered_cache_behavior {
    path_pattern               = "/o/*"
    target_origin_id           = "api"
    viewer_protocol_policy     = "https-only"
    allowed_methods            = local.all_methods
    cached_methods             = ["GET", "HEAD"]
    cache_policy_id            = data.aws_cloudfront_cache_policy.caching_disabled.id
    origin_request_policy_id   = data.aws_cloudfront_origin_request_policy.all_viewer.id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.security.id
    compress                   = false
  }

  ordered_cache_behavior {
    path_pattern               = "/static/*"
    target_origin_id           = "regions"
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD", "OPTIONS"]
    cached_methods             = ["GET", "HEAD"]
    cache_policy_id            = aws_cloudfront_cache_policy.cached.id
    origin_request_policy_id   = aws_cloudfront_origin_request_policy.host_only.id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.security.id
    compress                   = true
  }

  ordered_cache_behavior {
    path_pattern               = "/api/docs/*"
    target_origin_id           = "regions"
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD", "OPTIONS"]
    cached_methods             = ["GET", "HEAD"]
    cache_policy_id            = aws_cloudfront_cache_policy.cached.id
    origin_request_policy_id   = aws_cloudfront_origin_request_policy.host_only.id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.security.id
    compress                   = true
  }

  # CloudFront keeps error answers for 10 s by default, whatever the cache policy and
  # Cache-Control say, keyed by URL alone on the uncached paths: one caller's 403 or 503
  # would be served to the next. Zero for every status code it would cache.
  dynamic "custom_error_response" {
    for_each = [400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504]
    content {
      error_code            = custom_error_response.value
      error_caching_min_ttl = 0
    }
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    acm_certificate_arn      = aws_acm_certificate_validation.edge.certificate_arn
    ssl_support_method       = "sni-only"
    minimum_protocol_version = "TLSv1.2_2021"
  }

  tags = local.tags
}

################################################################################
# Access logs: CloudFront standard logging v2 to CloudWatch Logs (us-east-1)
################################################################################

resource "aws_cloudwatch_log_group" "access" {
  provider = aws.us_east_1

  name              = "/aws/cloudfront/${var.name}"
  retention_in_days = 365
  kms_key_id        = aws_kms_key.logs.arn
  tags              = local.tags
}

resource "aws_cloudwatch_log_delivery_source" "access" {
  provider = aws.us_east_1

  name         = "${var.name}-cloudfront"
  log_type     = "ACCESS_LOGS"
  resource_arn = aws_cloudfront_distribution.this.arn
  tags         = local.tags
}

resource "aws_cloudwatch_log_delivery_destination" "access" {
  provider = aws.us_east_1

  name          = "${var.name}-cloudfront"
  output_format = "json"

  delivery_destination_configuration {
    destination_resource_arn = aws_cloudwatch_log_group.access.arn
  }
  tags = local.tags
}

resource "aws_cloudwatch_log_delivery" "access" {
  provider = aws.us_east_1

  delivery_source_name     = aws_cloudwatch_log_delivery_source.access.name
  delivery_destination_arn = aws_cloudwatch_log_delivery_destination.access.arn
  tags                     = local.tags
}

################################################################################
# The customer-facing name
################################################################################

resource "aws_route53_record" "api" {
  for_each = toset(["A", "AAAA"])

  zone_id = data.aws_route53_zone.public.zone_id
  name    = var.api_host
  type    = each.value

  alias {
    name                   = aws_cloudfront_distribution.this.domain_name
    zone_id                = aws_cloudfront_distribution.this.hosted_zone_id
    evaluate_target_health = false
  }
}
