# One EKS cluster ("blue" or "green") of an environment, built on terraform-aws-modules/eks
# v21 (inputs renamed in v21: name, kubernetes_version, addons, endpoint_*).
# Two managed node groups:
#   apps   - the weather API workloads (label workload=apps)
#   system - add-ons only (label workload=system, taint CriticalAddonsOnly=true:NoSchedule)
module "eks" {
  #checkov:skip=CKV_TF_1:Registry module pinned to an exact released version (registry releases are immutable); a git commit hash would bypass the registry
  source  = "terraform-aws-modules/eks/aws"
  version = "21.10.1"

  name               = var.name
  kubernetes_version = var.kubernetes_version

  endpoint_public_access       = var.endpoint_public_access
  endpoint_public_access_cidrs = var.endpoint_public_access_cidrs
  endpoint_private_access      = true

  enable_cluster_creator_admin_permissions = true
  authentication_mode                      = "API"
  access_entries                           = var.access_entries

  enabled_log_types                      = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
  cloudwatch_log_group_retention_in_days = 365
  cloudwatch_log_group_kms_key_id        = var.logs_kms_key_arn

  encryption_config = {
    resources = ["secrets"]
  }

  vpc_id                   = var.vpc_id
  subnet_ids               = var.private_subnet_ids
  control_plane_subnet_ids = var.private_subnet_ids

  addons = {
    vpc-cni = {
      before_compute = true
      most_recent    = true
      # Enforce Kubernetes NetworkPolicies (k8s/base/networkpolicy.yaml).
      configuration_values = jsonencode({
        enableNetworkPolicy = "true"
      })
    }
    kube-proxy = {
      most_recent = true
    }
    coredns = {
      most_recent = true
      configuration_values = jsonencode({
        tolerations = [{ key = "CriticalAddonsOnly", operator = "Exists", effect = "NoSchedule" }]
      })
    }
    eks-pod-identity-agent = {
      before_compute = true
      most_recent    = true
    }
    # Container Insights + the CloudWatch agent operator (k8s/cloudwatch adds the
    # Prometheus/EMF scrape of the weather API).
    amazon-cloudwatch-observability = {
      most_recent = true
      pod_identity_association = [{
        role_arn        = aws_iam_role.cloudwatch_agent.arn
        service_account = "cloudwatch-agent"
      }]
    }
  }

  eks_managed_node_groups = {
    apps = {
      ami_type       = "AL2023_x86_64_STANDARD"
      instance_types = var.apps_instance_types
      capacity_type  = "ON_DEMAND"
      min_size       = var.apps_min_size
      max_size       = var.apps_max_size
      desired_size   = var.apps_min_size
      subnet_ids     = var.private_subnet_ids

      labels = {
        workload = "apps"
      }

      metadata_options = {
        http_endpoint               = "enabled"
        http_tokens                 = "required"
        http_put_response_hop_limit = 1
      }
    }

    system = {
      ami_type       = "AL2023_x86_64_STANDARD"
      instance_types = var.system_instance_types
      capacity_type  = "ON_DEMAND"
      min_size       = 3
      max_size       = 6
      desired_size   = 3
      subnet_ids     = var.private_subnet_ids

      labels = {
        workload = "system"
      }

      taints = {
        critical_addons_only = {
          key    = "CriticalAddonsOnly"
          value  = "true"
          effect = "NO_SCHEDULE"
        }
      }

      metadata_options = {
        http_endpoint               = "enabled"
        http_tokens                 = "required"
        http_put_response_hop_limit = 1
      }
    }
  }

  node_security_group_tags = {
    "karpenter.sh/discovery" = var.name
  }

  tags = merge(var.tags, { "weatherapi/cluster-color" = var.color })
}

# CloudWatch agent of the amazon-cloudwatch-observability add-on (Pod Identity).
data "aws_iam_policy_document" "pod_identity_trust" {
  statement {
    sid     = "EksPodIdentity"
    actions = ["sts:AssumeRole", "sts:TagSession"]
    principals {
      type        = "Service"
      identifiers = ["pods.eks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "cloudwatch_agent" {
  name               = "${var.name}-cloudwatch-agent"
  assume_role_policy = data.aws_iam_policy_document.pod_identity_trust.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "cloudwatch_agent" {
  role       = aws_iam_role.cloudwatch_agent.name
  policy_arn = "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"
}
