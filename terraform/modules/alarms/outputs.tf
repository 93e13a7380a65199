output "topic_arn" {
  description = "SNS topic every alarm notifies (ALARM and OK); subscribe on-call tools to it."
  value       = aws_sns_topic.alarms.arn
}

output "alarm_names" {
  description = "Names of all alarms of this module."
  value = concat(
    [for a in aws_cloudwatch_metric_alarm.container_insights : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.pod_failed : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.container_insights_silent : a.alarm_name],
  )
}
