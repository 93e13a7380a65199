# Cluster add-ons installed with Helm (chart versions pinned) on the system node group,
# each controller with its own least-privilege EKS Pod Identity role:
#   AWS Load Balancer Controller, Secrets Store CSI driver + AWS provider, KEDA,
#   Cluster Autoscaler, external-dns, kube-prometheus-stack (Prometheus Operator, used by
#   the ServiceMonitor / PrometheusRule / KEDA Prometheus trigger).
# CloudWatch agent / Container Insights is the EKS add-on amazon-cloudwatch-observability
# (modules/eks-cluster).

locals {
  system_scheduling = {
    nodeSelector = { workload = "system" }
    tolerations  = [{ key = "CriticalAddonsOnly", operator = "Exists", effect = "NoSchedule" }]
  }
}

################################################################################
# Pod Identity roles
################################################################################

module "aws_lb_controller_pod_identity" {
  #checkov:skip=CKV_TF_1:Registry module pinned to an exact released version (registry releases are immutable); a git commit hash would bypass the registry
  source  = "terraform-aws-modules/eks-pod-identity/aws"
  version = "2.7.0"

  name                            = "${var.cluster_name}-aws-lbc"
  attach_aws_lb_controller_policy = true

  associations = {
    this = {
      cluster_name    = var.cluster_name
      namespace       = "kube-system"
      service_account = "aws-load-balancer-controller"
    }
  }
  tags = var.tags
}

module "cluster_autoscaler_pod_identity" {
  #checkov:skip=CKV_TF_1:Registry module pinned to an exact released version (registry releases are immutable); a git commit hash would bypass the registry
  source  = "terraform-aws-modules/eks-pod-identity/aws"
  version = "2.7.0"

  name                             = "${var.cluster_name}-cluster-autoscaler"
  attach_cluster_autoscaler_policy = true
  cluster_autoscaler_cluster_names = [var.cluster_name]

  associations = {
    this = {
      cluster_name    = var.cluster_name
      namespace       = "kube-system"
      service_account = "cluster-autoscaler"
    }
  }
  tags = var.tags
}

module "external_dns_pod_identity" {
  #checkov:skip=CKV_TF_1:Registry module pinned to an exact released version (registry releases are immutable); a git commit hash would bypass the registry
  source  = "terraform-aws-modules/eks-pod-identity/aws"
  version = "2.7.0"

  name                          = "${var.cluster_name}-external-dns"
  attach_external_dns_policy    = true
  external_dns_hosted_zone_arns = [var.hosted_zone_arn]

  associations = {
    this = {
      cluster_name    = var.cluster_name
      namespace       = "kube-system"
      service_account = "external-dns"
    }
  }
  tags = var.tags
}

################################################################################
# Helm releases
################################################################################

resource "helm_release" "aws_load_balancer_controller" {
  name       = "aws-load-balancer-controller"
  namespace  = "kube-system"
  repository = "https://aws.github.io/eks-charts"
  chart      = "aws-load-balancer-controller"
  version    = "1.13.3"
  wait       = true

  values = [yamlencode(merge(local.system_scheduling, {
    clusterName  = var.cluster_name
    region       = var.region
    vpcId        = var.vpc_id
    replicaCount = 2
    serviceAccount = {
      create = true
      name   = "aws-load-balancer-controller"
    }
    # WAF associations come from the Ingress annotation only (k8s/base/ingress-public.yaml).
    enableWafv2  = true
    enableShield = false
  }))]

  depends_on = [module.aws_lb_controller_pod_identity]
}

resource "helm_release" "secrets_store_csi_driver" {
  name       = "secrets-store-csi-driver"
  namespace  = "kube-system"
  repository = "https://kubernetes-sigs.github.io/secrets-store-csi-driver/charts"
  chart      = "secrets-store-csi-driver"
  version    = "1.5.4"

  values = [yamlencode({
    # secretObjects in the SecretProviderClass (metrics token for the ServiceMonitor).
    syncSecret           = { enabled = true }
    enableSecretRotation = true
    rotationPollInterval = "2m"
    linux = {
      tolerations = [{ operator = "Exists" }]
    }
  })]
}

resource "helm_release" "secrets_store_csi_driver_provider_aws" {
  name       = "secrets-store-csi-driver-provider-aws"
  namespace  = "kube-system"
  repository = "https://aws.github.io/secrets-store-csi-driver-provider-aws"
  chart      = "secrets-store-csi-driver-provider-aws"
  version    = "0.3.11"

  values = [yamlencode({
    tolerations = [{ operator = "Exists" }]
  })]

  depends_on = [helm_release.secrets_store_csi_driver]
}

resource "helm_release" "keda" {
  name             = "keda"
  namespace        = "keda"
  create_namespace = true
  repository       = "https://kedacore.github.io/charts"
  chart            = "keda"
  version          = "2.18.2"

  values = [yamlencode(merge(local.system_scheduling, {
    podDisruptionBudget = { operator = { minAvailable = 1 } }
    operator            = { replicaCount = 2 }
  }))]
}

# Keep the chart's Cluster Autoscaler minor version equal to the cluster's Kubernetes minor
# (chart 9.48.x = autoscaler 1.33 for kubernetes_version 1.33); bump both together.
resource "helm_release" "cluster_autoscaler" {
  name       = "cluster-autoscaler"
  namespace  = "kube-system"
  repository = "https://kubernetes.github.io/autoscaler"
  chart      = "cluster-autoscaler"
  version    = "9.48.0"

  values = [yamlencode(merge(local.system_scheduling, {
    awsRegion = var.region
    autoDiscovery = {
      clusterName = var.cluster_name
    }
    rbac = {
      serviceAccount = { create = true, name = "cluster-autoscaler" }
    }
    extraArgs = {
      balance-similar-node-groups      = true
      skip-nodes-with-system-pods      = false
      expander                         = "least-waste"
      scale-down-utilization-threshold = "0.6"
    }
  }))]

  depends_on = [module.cluster_autoscaler_pod_identity]
}

resource "helm_release" "external_dns" {
  name       = "external-dns"
  namespace  = "kube-system"
  repository = "https://kubernetes-sigs.github.io/external-dns"
  chart      = "external-dns"
  version    = "1.16.1"

  # external-dns only publishes per-cluster names (<ingress>.<color>.<region>.<zone>),
  # which the blue/green switch uses as health-gate targets. The shared customer-facing
  # names (weighted per colour, latency per region) belong to Terraform (modules/dns), so
  # ingress rule hosts are ignored here.
  values = [yamlencode(merge(local.system_scheduling, {
    provider      = { name = "aws" }
    policy        = "upsert-only"
    registry      = "txt"
    txtOwnerId    = var.cluster_name
    domainFilters = [var.zone_name]
    sources       = ["ingress"]
    serviceAccount = {
      create = true
      name   = "external-dns"
    }
    extraArgs = [
      "--ignore-ingress-rules-spec",
      "--ignore-ingress-tls-spec",
      "--fqdn-template={{.Name}}.${var.color}.${var.region}.${var.zone_name}",
      "--aws-zone-type=public",
    ]
  }))]

  depends_on = [module.external_dns_pod_identity]
}

resource "helm_release" "kube_prometheus_stack" {
  name             = "kube-prometheus-stack"
  namespace        = "monitoring"
  create_namespace = true
  repository       = "https://prometheus-community.github.io/helm-charts"
  chart            = "kube-prometheus-stack"
  version          = "78.5.0"
  timeout          = 900

  values = [yamlencode({
    prometheus = {
      prometheusSpec = merge(local.system_scheduling, {
        # Pick up ServiceMonitors / PrometheusRules from every namespace without the
        # chart's release label.
        serviceMonitorSelectorNilUsesHelmValues = false
        podMonitorSelectorNilUsesHelmValues     = false
        ruleSelectorNilUsesHelmValues           = false
        retention                               = "15d"
        replicas                                = 2
      })
    }
    alertmanager = {
      alertmanagerSpec = merge(local.system_scheduling, { replicas = 2 })
    }
    grafana = {
      sidecar = {
        dashboards = {
          enabled          = true
          label            = "grafana_dashboard"
          searchNamespace  = "ALL"
          folderAnnotation = "grafana_folder"
          provider         = { foldersFromFilesStructure = true }
        }
      }
    }
  })]
}
