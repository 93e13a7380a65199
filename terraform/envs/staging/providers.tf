provider "aws" {
  region = var.region

  allowed_account_ids = [var.account_id]

  default_tags {
    tags = local.tags
  }
}

# One Helm provider per colour: add-ons are installed into each cluster separately.
provider "helm" {
  alias = "blue"
  kubernetes = {
    host                   = module.cluster_blue.cluster_endpoint
    cluster_ca_certificate = base64decode(module.cluster_blue.cluster_certificate_authority_data)
    exec = {
      api_version = "client.authentication.k8s.io/v1beta1"
      command     = "aws"
      args        = ["eks", "get-token", "--cluster-name", module.cluster_blue.cluster_name, "--region", var.region]
    }
  }
}

provider "helm" {
  alias = "green"
  kubernetes = {
    host                   = module.cluster_green.cluster_endpoint
    cluster_ca_certificate = base64decode(module.cluster_green.cluster_certificate_authority_data)
    exec = {
      api_version = "client.authentication.k8s.io/v1beta1"
      command     = "aws"
      args        = ["eks", "get-token", "--cluster-name", module.cluster_green.cluster_name, "--region", var.region]
    }
  }
}
