# Providers are configured by the env roots only (terraform/envs/<env>/providers.tf):
# the default aws, one helm per cluster colour passed in as helm.blue / helm.green, and
# random (no configuration; used by the data and app-secrets modules).
terraform {
  required_version = ">= 1.11.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
    helm = {
      source                = "hashicorp/helm"
      version               = "~> 3.0"
      configuration_aliases = [helm.blue, helm.green]
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.7"
    }
  }
}
