output "vpc_id" {
  description = "VPC id."
  value       = module.vpc.vpc_id
}

output "vpc_cidr" {
  description = "VPC CIDR (the ALB source range in the web NetworkPolicy)."
  value       = module.vpc.vpc_cidr_block
}

output "azs" {
  description = "The three availability zones in use."
  value       = local.azs
}

output "private_subnet_ids" {
  description = "Subnets for nodes and pods."
  value       = module.vpc.private_subnets
}

output "public_subnet_ids" {
  description = "Subnets for internet-facing load balancers."
  value       = module.vpc.public_subnets
}

output "database_subnet_ids" {
  description = "Isolated subnets for RDS and ElastiCache."
  value       = module.vpc.database_subnets
}

output "database_subnet_group_name" {
  description = "RDS subnet group over the database subnets."
  value       = module.vpc.database_subnet_group_name
}

output "database_subnets_cidr_blocks" {
  description = "CIDRs of the database subnets."
  value       = module.vpc.database_subnets_cidr_blocks
}
