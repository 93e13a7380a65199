# Providers come from the edge root (terraform/envs/<env>/edge): the default aws (the
# environment's home region: the origin secret, Route53) and aws.us_east_1 (what CloudFront
# requires there: its ACM certificate, the CLOUDFRONT-scope WAF web ACL, its log groups).
terraform {
  required_version = ">= 1.11.0, < 2.0.0"

  required_providers {
    aws = {
      source                = "hashicorp/aws"
      version               = "~> 6.0"
      configuration_aliases = [aws.us_east_1]
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.7"
    }
  }
}
