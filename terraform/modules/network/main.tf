# VPC over three availability zones: public subnets (ALBs, NAT gateways), private subnets
# (EKS nodes and pods), database subnets (RDS, ElastiCache; no route to the internet).
data "aws_availability_zones" "available" {
  state = "available"
  # Pinned by zone id (the same physical zones in every account), so the set never grows
  # on its own when AWS adds a zone.
  filter {
    name   = "zone-id"
    values = var.az_ids
  }
}

locals {
  azs = data.aws_availability_zones.available.names
}

module "vpc" {
  #checkov:skip=CKV_TF_1:Registry module pinned to an exact released version (registry releases are immutable); a git commit hash would bypass the registry
  source  = "terraform-aws-modules/vpc/aws"
  version = "6.6.1"

  name = var.name
  cidr = var.cidr
  azs  = local.azs

  # /20 private subnets for pods (VPC CNI gives every pod a VPC address), /24 elsewhere.
  private_subnets  = [for i in range(3) : cidrsubnet(var.cidr, 4, i + 1)]
  public_subnets   = [for i in range(3) : cidrsubnet(var.cidr, 8, i)]
  database_subnets = [for i in range(3) : cidrsubnet(var.cidr, 8, i + 200)]

  create_database_subnet_group           = true
  create_database_subnet_route_table     = true
  create_database_internet_gateway_route = false
  create_database_nat_gateway_route      = false

  enable_nat_gateway     = true
  single_nat_gateway     = var.single_nat_gateway
  one_nat_gateway_per_az = !var.single_nat_gateway

  enable_dns_hostnames = true
  enable_dns_support   = true

  manage_default_security_group  = true
  default_security_group_ingress = []
  default_security_group_egress  = []

  enable_flow_log                                 = true
  create_flow_log_cloudwatch_log_group            = true
  create_flow_log_cloudwatch_iam_role             = true
  flow_log_cloudwatch_log_group_retention_in_days = 365
  flow_log_cloudwatch_log_group_kms_key_id        = var.logs_kms_key_arn
  flow_log_max_aggregation_interval               = 60

  public_subnet_tags = {
    "kubernetes.io/role/elb" = "1"
  }
  private_subnet_tags = {
    "kubernetes.io/role/internal-elb" = "1"
  }

  tags = var.tags
}
