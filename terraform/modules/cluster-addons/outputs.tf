output "helm_releases" {
  description = "Installed add-on charts and versions."
  value = {
    for r in [
      helm_release.aws_load_balancer_controller,
      helm_release.secrets_store_csi_driver,
      helm_release.secrets_store_csi_driver_provider_aws,
      helm_release.keda,
      helm_release.cluster_autoscaler,
      helm_release.external_dns,
      helm_release.kube_prometheus_stack,
    ] : r.name => r.version
  }
}
