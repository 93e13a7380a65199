# WAFv2 web ACL at CloudFront scope, in front of every region (modules/edge attaches it
# with the distribution's web_acl_id). A CLOUDFRONT-scope ACL, and its log group, must be
# in us-east-1: the caller passes that provider (aws = aws.us_east_1).
# There is no regional ACL on the ALBs: they accept only CloudFront with the secret origin
# header (modules/edge, k8s/base/ingress-public.yaml), so every request has passed this
# ACL, and behind CloudFront a per-IP rule on the ALB would see CloudFront's addresses.

resource "aws_wafv2_web_acl" "this" {
  name        = var.name
  description = "Weather API edge (CloudFront)"
  scope       = "CLOUDFRONT"

  default_action {
    allow {}
  }

  # Request size limits (docs/deploy.md, "Request size limits"). gunicorn answers requests
  # over its own limits (request line 8190 bytes, 100 header fields of 8190 bytes) with an
  # HTML 414/431 page; these rules stop them first, below those limits, with a JSON problem
  # document, and run before the managed groups so their size rules (the same URI and query
  # limits) never answer with a bare 403.
  custom_response_body {
    key          = "uri-too-long"
    content_type = "APPLICATION_JSON"
    content = jsonencode({
      type   = "https://docs.weatherapi.example/errors/invalid_parameter"
      title  = "URI too long"
      status = 414
      code   = "invalid_parameter"
      detail = "The URI path may be at most ${var.max_uri_path_bytes} bytes and the query string at most ${var.max_query_string_bytes} bytes."
    })
  }

  custom_response_body {
    key          = "headers-too-large"
    content_type = "APPLICATION_JSON"
    content = jsonencode({
      type   = "https://docs.weatherapi.example/errors/invalid_parameter"
      title  = "Request header fields too large"
      status = 431
      code   = "invalid_parameter"
      detail = "Request headers may be at most 8192 bytes and 200 fields in all."
    })
  }

  rule {
    name     = "uri-too-long"
    priority = 1
    action {
      block {
        custom_response {
          response_code            = 414
          custom_response_body_key = "uri-too-long"
        }
      }
    }
    statement {
      or_statement {
        statement {
          size_constraint_statement {
            comparison_operator = "GT"
            size                = var.max_uri_path_bytes
            field_to_match {
              uri_path {}
            }
            text_transformation {
              priority = 0
              type     = "NONE"
            }
          }
        }
        statement {
          size_constraint_statement {
            comparison_operator = "GT"
            size                = var.max_query_string_bytes
            field_to_match {
              query_string {}
            }
            text_transformation {
              priority = 0
              type     = "NONE"
            }
          }
        }
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-uri-too-long"
      sampled_requests_enabled   = true
    }
  }

  # WAF sees at most 8 KB and 200 header fields of a request (CloudFront as on an ALB);
  # "oversize_handling = MATCH" blocks anything beyond that, so no single header line reaches
  # gunicorn's 8190-byte limit. (The size comparison itself never matches what WAF can
  # inspect.)
  rule {
    name     = "headers-too-large"
    priority = 2
    action {
      block {
        custom_response {
          response_code            = 431
          custom_response_body_key = "headers-too-large"
        }
      }
    }
    statement {
      size_constraint_statement {
        comparison_operator = "GT"
        size                = 8192
        field_to_match {
          headers {
            match_pattern {
              all {}
            }
            match_scope       = "ALL"
            oversize_handling = "MATCH"
          }
        }
        text_transformation {
          priority = 0
          type     = "NONE"
        }
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-headers-too-large"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "aws-common"
    priority = 10
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesCommonRuleSet"
        # Batches and jobs (POST /v1/batch, /v1/jobs) legitimately send bodies over 8 KB,
        # up to Django's 1 MB limit: the size rule only counts.
        rule_action_override {
          name = "SizeRestrictions_BODY"
          action_to_use {
            count {}
          }
        }
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-aws-common"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "aws-known-bad-inputs"
    priority = 20
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesKnownBadInputsRuleSet"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-aws-known-bad-inputs"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "aws-ip-reputation"
    priority = 30
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesAmazonIpReputationList"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-aws-ip-reputation"
      sampled_requests_enabled   = true
    }
  }

  # Coarse flood protection per client IP in front of the app's own per-plan throttles (at
  # CloudFront scope the IP is the viewer's own address).
  rule {
    name     = "rate-limit-per-ip"
    priority = 40
    action {
      block {
        custom_response {
          response_code = 429
        }
      }
    }
    statement {
      rate_based_statement {
        limit                 = var.rate_limit_per_5_minutes
        aggregate_key_type    = "IP"
        evaluation_window_sec = 300
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-rate-limit-per-ip"
      sampled_requests_enabled   = true
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = var.name
    sampled_requests_enabled   = true
  }

  tags = var.tags
}

# WAF logging requires the log group name to start with "aws-waf-logs-" (and, for a
# CLOUDFRONT-scope ACL, the group to be in us-east-1: this module's provider).
resource "aws_cloudwatch_log_group" "waf" {
  name              = "aws-waf-logs-${var.name}"
  retention_in_days = 365
  kms_key_id        = var.logs_kms_key_arn
  tags              = var.tags
}

resource "aws_wafv2_web_acl_logging_configuration" "this" {
  resource_arn            = aws_wafv2_web_acl.this.arn
  log_destination_configs = [aws_cloudwatch_log_group.waf.arn]

  redacted_fields {
    single_header {
      name = "authorization"
    }
  }
  redacted_fields {
    single_header {
      name = "x-api-key"
    }
  }
}
