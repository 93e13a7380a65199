# CloudWatch alarms on Container Insights, one set per cluster colour, for when the
# cluster's own Prometheus (and so its alerts) is down: the resource and pod-health alerts
# of k8s/monitoring/prometheusrule.yaml (group weather.resources) on the metrics the
# amazon-cloudwatch-observability add-on publishes (modules/eks-cluster), plus two that
# only CloudWatch can give (failed nodes, and Container Insights itself going silent).
# Each alarm is named <name>-<colour>-<alert> and its description links the runbook entry
# of the same name (docs/runbook.md). Every alarm notifies one KMS-encrypted SNS topic on
# ALARM and on OK.
#
# Metrics: the "classic" Container Insights metrics (namespace ContainerInsights, EMF),
# which the add-on publishes by default (chart values containerInsights.enabled=true,
# with enhanced observability; otelContainerInsights is off). Dimension sets are those the
# CloudWatch agent declares (aws/amazon-cloudwatch-agent,
# translator/translate/otel/exporter/awsemf/kubernetes.go). An alarm on {ClusterName,
# Namespace} or {ClusterName} with the Maximum statistic watches the busiest pod or node:
# the agent writes one datapoint per pod or node into those roll-ups.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  runbook = "https://github.com/example/weatherapi/blob/main/docs/runbook.md"

  # Thresholds and durations are those of the PrometheusRule twins (reasons there and in
  # docs/runbook.md); evaluated minute by minute, every minute of the duration breaching.
  # suffix tells apart two alarms with one runbook entry (network directions).
  metric_alarms = {
    container_cpu = {
      alert       = "WeatherContainerCPUNearLimit"
      suffix      = ""
      metric      = "pod_cpu_utilization_over_pod_limit"
      namespaced  = true
      threshold   = 90
      minutes     = 10
      description = "A pod in the app namespace has used more than 90% of its CPU limit (sum of its containers' limits) for 10 minutes: it is being throttled."
    }
    container_memory = {
      alert       = "WeatherContainerMemoryNearLimit"
      suffix      = ""
      metric      = "pod_memory_utilization_over_pod_limit"
      namespaced  = true
      threshold   = 90
      minutes     = 5
      description = "A pod in the app namespace has used more than 90% of its memory limit for 5 minutes: at 100% it is OOM-killed."
    }
    node_cpu = {
      alert       = "WeatherNodeCPUHigh"
      suffix      = ""
      metric      = "node_cpu_utilization"
      namespaced  = false
      threshold   = 85
      minutes     = 15
      description = "A node has been more than 85% busy for 15 minutes."
    }
    node_memory = {
      alert       = "WeatherNodeMemoryLow"
      suffix      = ""
      metric      = "node_memory_utilization"
      namespaced  = false
      threshold   = 90
      minutes     = 10
      description = "A node has used more than 90% of its memory (working set) for 10 minutes: less than 10% is left before evictions and OOM kills."
    }
    pod_network_receive = {
      alert       = "WeatherPodNetworkHigh"
      suffix      = "-receive"
      metric      = "pod_network_rx_bytes"
      namespaced  = true
      threshold   = 10000000
      minutes     = 10
      description = "A pod in the app namespace has received more than 10 MB/s for 10 minutes, more than legitimate traffic can explain."
    }
    pod_network_transmit = {
      alert       = "WeatherPodNetworkHigh"
      suffix      = "-transmit"
      metric      = "pod_network_tx_bytes"
      namespaced  = true
      threshold   = 10000000
      minutes     = 10
      description = "A pod in the app namespace has sent more than 10 MB/s for 10 minutes, more than legitimate traffic can explain."
    }
    # Received + sent (CloudWatch has no per-direction node metric): fires when the sum
    # reaches 80 % of one direction's baseline, i.e. never later than the Prometheus twin.
    node_network = {
      alert       = "WeatherNodeNetworkSaturated"
      suffix      = ""
      metric      = "node_network_total_bytes"
      namespaced  = false
      threshold   = 78000000
      minutes     = 15
      description = "A node has moved more than 78 MB/s (received + sent) for 15 minutes, 80% of an m7i.large's baseline bandwidth."
    }
    # A node with any bad condition (NotReady, memory, disk or PID pressure).
    node_condition = {
      alert       = "WeatherNodeConditionFailed"
      suffix      = ""
      metric      = "cluster_failed_node_count"
      namespaced  = false
      threshold   = 0
      minutes     = 5
      description = "At least one node has reported a bad condition (NotReady, MemoryPressure, DiskPressure or PIDPressure) for 5 minutes."
    }
  }

  # "<colour>.<key>" -> the alarm, for every cluster colour.
  cluster_alarms = merge([
    for color, cluster in var.clusters : {
      for key, alarm in local.metric_alarms : "${color}.${key}" => merge(alarm, {
        color   = color
        cluster = cluster
      })
    }
  ]...)
}

################################################################################
# Topic and its key
################################################################################

data "aws_iam_policy_document" "alarms_kms" {
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
  # CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS key; with a
  # customer-managed key it needs these two actions (SNS developer guide, "Enable
  # compatibility between event sources from AWS services and encrypted topics").
  statement {
    sid       = "CloudWatchAlarms"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "alarms" {
  description             = "${var.name}: alarm notifications (SNS)"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.alarms_kms.json
  tags                    = var.tags
}

resource "aws_kms_alias" "alarms" {
  name          = "alias/${var.name}-alarms"
  target_key_id = aws_kms_key.alarms.key_id
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  kms_master_key_id = aws_kms_key.alarms.arn
  tags              = var.tags
}

data "aws_iam_policy_document" "alarms_topic" {
  statement {
    sid = "AccountOwner"
    actions = [
      "SNS:GetTopicAttributes",
      "SNS:SetTopicAttributes",
      "SNS:AddPermission",
      "SNS:RemovePermission",
      "SNS:DeleteTopic",
      "SNS:Subscribe",
      "SNS:ListSubscriptionsByTopic",
      "SNS:Publish",
    ]
    resources = [aws_sns_topic.alarms.arn]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
  # Only this stack's alarms (their names start with var.name) may publish.
  statement {
    sid       = "CloudWatchAlarms"
    actions   = ["SNS:Publish"]
    resources = [aws_sns_topic.alarms.arn]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${data.aws_partition.current.partition}:cloudwatch:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:alarm:${var.name}-*"]
    }
  }
}

resource "aws_sns_topic_policy" "alarms" {
  arn    = aws_sns_topic.alarms.arn
  policy = data.aws_iam_policy_document.alarms_topic.json
}

resource "aws_sns_topic_subscription" "alarms" {
  for_each = { for s in var.subscriptions : "${s.protocol}:${s.endpoint}" => s }

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = each.value.protocol
  endpoint  = each.value.endpoint
}

################################################################################
# Alarms
################################################################################

resource "aws_cloudwatch_metric_alarm" "container_insights" {
  for_each = local.cluster_alarms

  alarm_name          = "${var.name}-${each.value.color}-${each.value.alert}${each.value.suffix}"
  alarm_description   = "${each.value.description} Cluster ${each.value.cluster}. Runbook: ${local.runbook}#${lower(each.value.alert)}"
  namespace           = "ContainerInsights"
  metric_name         = each.value.metric
  dimensions          = each.value.namespaced ? tomap({ ClusterName = each.value.cluster, Namespace = var.namespace }) : tomap({ ClusterName = each.value.cluster })
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = each.value.minutes
  datapoints_to_alarm = each.value.minutes
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.threshold
  # No datapoints (no pod, or the agent down) is not a breach; the silent-pipeline alarm
  # below is what notices a missing Container Insights.
  treat_missing_data = "missing"
  actions_enabled    = true
  alarm_actions      = [aws_sns_topic.alarms.arn]
  ok_actions         = [aws_sns_topic.alarms.arn]
  tags               = var.tags
}

# pod_status_failed (enhanced observability) has no {ClusterName, Namespace} roll-up, only
# per pod ({ClusterName, Namespace, PodName}), and Job pods get new names every run: a
# Metrics Insights query takes the maximum over the namespace's pods. Evicted pods are
# Failed too (unlike the Prometheus twin, this cannot leave them out).
resource "aws_cloudwatch_metric_alarm" "pod_failed" {
  for_each = var.clusters

  alarm_name          = "${var.name}-${each.key}-WeatherPodFailed"
  alarm_description   = "A pod in the app namespace has been in phase Failed for 5 minutes (a Job attempt that exited with an error, or an eviction). Cluster ${each.value}. Runbook: ${local.runbook}#weatherpodfailed"
  evaluation_periods  = 5
  datapoints_to_alarm = 5
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
  tags                = var.tags

  metric_query {
    id          = "failed"
    label       = "Failed pods in ${var.namespace}"
    expression  = "SELECT MAX(pod_status_failed) FROM SCHEMA(\"ContainerInsights\", ClusterName, Namespace, PodName) WHERE ClusterName = '${each.value}' AND Namespace = '${var.namespace}'"
    period      = 60
    return_data = true
  }
}

# Watchdog: the alarms above only see what Container Insights sends. cluster_node_count is
# written every minute while the agent runs; none for 15 minutes means the alarms are blind
# (agent down, add-on removed, or switched to OTel-only Container Insights, whose metrics
# have other names).
resource "aws_cloudwatch_metric_alarm" "container_insights_silent" {
  for_each = var.clusters

  alarm_name          = "${var.name}-${each.key}-WeatherContainerInsightsSilent"
  alarm_description   = "Container Insights has sent no cluster_node_count for 15 minutes: the CloudWatch alarms of this cluster are blind. Cluster ${each.value}. Runbook: ${local.runbook}#weathercontainerinsightssilent"
  namespace           = "ContainerInsights"
  metric_name         = "cluster_node_count"
  dimensions          = { ClusterName = each.value }
  statistic           = "SampleCount"
  period              = 300
  evaluation_periods  = 3
  datapoints_to_alarm = 3
  comparison_operator = "LessThanThreshold"
  threshold           = 1
  treat_missing_data  = "breaching"
  actions_enabled     = true
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
  tags                = var.tags
}
