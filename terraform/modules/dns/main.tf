# DNS of one environment in one region, and the TLS certificate of its ALBs.
#
#   api.weatherapi.example.com            CloudFront (modules/edge, one per environment)
#     origins:
#     origin.api.weatherapi.example.com   latency record per region (set_identifier = region),
#                                         for the all-method behaviours (/v1/*, /o/*, portal)
#     api.<region>.weatherapi.example.com   weighted records per colour (blue / green): the
#                                           origin group's members (cached GET behaviours)
#          -> the public ALB of that colour's cluster (found by the tags the AWS Load
#             Balancer Controller puts on it: elbv2.k8s.aws/cluster + weatherapi/alb)
#   ops.<...> latency -> weighted -> the internal ALB (admin, /metrics), not behind CloudFront.
#
# Each regional deployment of the env root adds its own latency records, so adding a
# region = applying the root with another `region` (docs/deploy.md). edge_in_service = false
# takes this region's origin latency record away (region failover drill, docs/runbook.md).
# Weights are moved by scripts/bluegreen_switch.py; Terraform sets them at creation and then
# ignores them.
#
# The ALBs exist only after the Ingresses were applied, so the records are created when
# alb_lookup_enabled = true (second apply, docs/deploy.md).

locals {
  # kind -> customer-facing host
  hosts = {
    public   = var.api_host
    internal = var.ops_host
  }
  regional_name = { for k, h in local.hosts : k => "${split(".", h)[0]}.${var.region}.${var.zone_name}" }

  # CloudFront's origin for the all-method behaviours (modules/edge builds the same name).
  origin_name = "origin.${var.api_host}"

  # kind -> name of the latency record: the public ALBs serve the world through CloudFront
  # only, so their latency record is the origin name, never the customer-facing api host.
  latency_names = merge(
    var.edge_in_service ? { public = local.origin_name } : {},
    { internal = var.ops_host },
  )

  alb_keys = var.alb_lookup_enabled ? {
    for pair in setproduct(keys(local.hosts), keys(var.clusters)) :
    "${pair[0]}-${pair[1]}" => { kind = pair[0], color = pair[1] }
  } : {}

  # Per-cluster names published by external-dns (--fqdn-template), used as health-gate
  # targets by the blue/green switch; they must be on the certificate.
  cluster_names = flatten([
    for color in keys(var.clusters) : [
      "weather-public.${color}.${var.region}.${var.zone_name}",
      "weather-internal.${color}.${var.region}.${var.zone_name}",
    ]
  ])
}

################################################################################
# Certificate (DNS validated)
################################################################################

resource "aws_acm_certificate" "this" {
  domain_name               = var.api_host
  # CloudFront checks the origin's certificate against the Host header it forwards (the api
  # host); the origin names are on it too, for any request that reaches an origin by name.
  subject_alternative_names = concat(
    [var.ops_host, local.origin_name, local.regional_name.public],
    local.cluster_names,
  )
  validation_method         = "DNS"

  options {
    certificate_transparency_logging_preference = "ENABLED"
  }

  lifecycle {
    create_before_destroy = true
  }
  tags = var.tags
}

resource "aws_route53_record" "validation" {
  for_each = {
    for dvo in aws_acm_certificate.this.domain_validation_options : dvo.domain_name => {
      name   = dvo.resource_record_name
      record = dvo.resource_record_value
      type   = dvo.resource_record_type
    }
  }

  zone_id         = var.zone_id
  name            = each.value.name
  type            = each.value.type
  ttl             = 300
  records         = [each.value.record]
  allow_overwrite = true
}

resource "aws_acm_certificate_validation" "this" {
  certificate_arn         = aws_acm_certificate.this.arn
  validation_record_fqdns = [for r in aws_route53_record.validation : r.fqdn]
}

################################################################################
# ALBs created by the AWS Load Balancer Controller
################################################################################

data "aws_lb" "alb" {
  for_each = local.alb_keys

  tags = {
    "elbv2.k8s.aws/cluster" = var.clusters[each.value.color]
    "weatherapi/alb"        = each.value.kind
  }
}

################################################################################
# Weighted records per colour (blue/green) under the regional name
################################################################################

resource "aws_route53_record" "weighted" {
  for_each = local.alb_keys

  zone_id        = var.zone_id
  name           = local.regional_name[each.value.kind]
  type           = "A"
  set_identifier = each.value.color

  weighted_routing_policy {
    weight = var.initial_weights[each.value.color]
  }

  alias {
    name                   = data.aws_lb.alb[each.key].dns_name
    zone_id                = data.aws_lb.alb[each.key].zone_id
    evaluate_target_health = true
  }

  lifecycle {
    # scripts/bluegreen_switch.py owns the weights after creation.
    ignore_changes = [weighted_routing_policy]
  }
}

################################################################################
# Latency record per region: CloudFront's origin name, and the ops host
################################################################################

resource "aws_route53_record" "latency" {
  for_each = var.alb_lookup_enabled ? local.latency_names : {}

  zone_id        = var.zone_id
  name           = each.value
  type           = "A"
  set_identifier = var.region

  latency_routing_policy {
    region = var.region
  }

  alias {
    name                   = local.regional_name[each.key]
    zone_id                = var.zone_id
    evaluate_target_health = true
  }

  depends_on = [aws_route53_record.weighted]
}
