# Providers are configured here only; modules/stack receives them (helm.blue/helm.green
# through the module's providers map).

provider "aws" {
  region = var.region

  allowed_account_ids = [var.account_id]

  default_tags {
    tags = module.stack.tags
  }
}

# One Helm provider per colour: add-ons are installed into each cluster separately.
provider "helm" {
  alias = "blue"
  kubernetes = {
    host                   = module.stack.cluster_connections.blue.endpoint
    cluster_ca_certificate = base64decode(module.stack.cluster_connections.blue.certificate_authority_data)
    exec = {
      api_version = "client.authentication.k8s.io/v1beta1"
      command     = "aws"
      args        = ["eks", "get-token", "--cluster-name", module.stack.cluster_connections.blue.name, "--region", var.region]
    }
  }
}

provider "helm" {
  alias = "green"
  kubernetes = {
    host                   = module.stack.cluster_connections.green.endpoint
    cluster_ca_certificate = base64decode(module.stack.cluster_connections.green.certificate_authority_data)
    exec = {
      api_version = "client.authentication.k8s.io/v1beta1"
      command     = "aws"
      args        = ["eks", "get-token", "--cluster-name", module.stack.cluster_connections.green.name, "--region", var.region]
    }
  }
}
